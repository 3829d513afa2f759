/* global FormData, document, sessionStorage */
import { ApiClient, ApiError } from './api.js';
import { HistoryView } from './history.js';
import { LiveView } from './live.js';

// The session lives in this tab only (sessionStorage): closing the tab signs the agent out.
const SESSION_KEY = 'calltx.session';
const $ = (id) => document.getElementById(id);

const api = new ApiClient({ onUnauthorized: () => signOut('Your session has ended; sign in again.') });
const live = new LiveView({ api, onUnauthorized: () => signOut('Your session has ended; sign in again.') });
const history = new HistoryView({ api });
let historyStarted = false;

function showView(name) {
  $('live-view').hidden = name !== 'live';
  $('history-view').hidden = name !== 'history';
  for (const button of $('nav').querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.view === name));
  }
  if (name === 'history' && !historyStarted) {
    historyStarted = true;
    history.start();
  }
}

function signedOut(message = '') {
  $('sign-in-view').hidden = false;
  $('live-view').hidden = true;
  $('history-view').hidden = true;
  $('nav').hidden = true;
  $('who').hidden = true;
  $('sign-in-error').textContent = message;
}

function signOut(message) {
  sessionStorage.removeItem(SESSION_KEY);
  api.token = null;
  live.stop();
  historyStarted = false;
  signedOut(message);
}

async function enter(session) {
  api.token = session.token;
  const me = await api.get('/me');
  $('sign-in-view').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = me.subject;
  showView('live');
  live.start(me);
}

$('sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(/** @type {HTMLFormElement} */ (e.target));
  $('sign-in-error').textContent = '';
  try {
    const session = await api.post(
      '/session',
      { identity: String(form.get('identity')), password: String(form.get('password')) },
      { auth: false },
    );
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    /** @type {HTMLFormElement} */ (e.target).reset();
    await enter(session);
  } catch (error) {
    $('sign-in-error').textContent = error instanceof ApiError ? error.message : 'Sign-in failed; try again.';
  }
});
$('sign-out').addEventListener('click', () => signOut());
$('nav').addEventListener('click', (e) => {
  const view = /** @type {Element} */ (e.target).closest('button')?.dataset.view;
  if (view) showView(view);
});

const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
if (saved && Date.parse(saved.expiresAt) > Date.now()) {
  enter(saved).catch(() => signOut());
} else {
  signedOut();
}
