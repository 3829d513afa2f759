/* global FormData, document */
import { ApiError } from './api.js';
import { agentLabel, dateTime, duration, el, shortSid, speakerLabel } from './format.js';
import { TranscriptView } from './transcript-view.js';

const $ = (id) => document.getElementById(id);

const RECORDING_NOTES = {
  none: 'No recording was reported for this call.',
  'in-progress': 'Recording in progress.',
  completed: 'The recording is being archived; reopen the call in a moment.',
  absent: 'No recording: Twilio reported it absent (nothing was recorded).',
  failed: 'The recording failed.',
};

/** Past calls: search by number and date, pages of results, and one call's transcript beside its audio. */
export class HistoryView {
  constructor({ api }) {
    this.api = api;
    this.nextCursor = null;
    this.filter = {};
    this.transcript = new TranscriptView($('detail-transcript'));
    this.transcript.onLineClick = (segment) => this.seek(segment);
    this.players = [];
    $('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.search(new FormData(/** @type {HTMLFormElement} */ (e.target)));
    });
    $('load-more').addEventListener('click', () => void this.loadPage());
    $('source-switch').addEventListener('click', (e) => {
      const source = /** @type {Element} */ (e.target).closest('button')?.dataset.source;
      if (source) this.showSource(source);
    });
  }

  start() {
    void this.search(new FormData(/** @type {HTMLFormElement} */ ($('search-form'))));
  }

  async search(form) {
    const number = String(form.get('number') ?? '').trim();
    const from = String(form.get('from') ?? '');
    const to = String(form.get('to') ?? '');
    // Dates are the agent's local days: from its first moment to the first moment of the day after "to".
    const day = (value, plusDays = 0) => {
      const [y, m, d] = value.split('-').map(Number);
      return new Date(y, m - 1, d + plusDays).toISOString();
    };
    this.filter = {
      number: number || undefined,
      from: from ? day(from) : undefined,
      to: to ? day(to, 1) : undefined,
    };
    this.nextCursor = null;
    $('calls-body').replaceChildren();
    await this.loadPage();
  }

  async loadPage() {
    const error = $('search-error');
    error.textContent = '';
    try {
      const page = await this.api.get('/calls', { ...this.filter, cursor: this.nextCursor, limit: 25 });
      $('calls-body').append(...page.calls.map((call) => this.row(call)));
      this.nextCursor = page.nextCursor;
      $('load-more').hidden = !page.nextCursor;
      $('calls-empty').hidden = $('calls-body').children.length > 0;
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : 'The call history could not be loaded.';
    }
  }

  row(call) {
    const recording = el('span', `badge recording-${call.recordingStatus}`, call.recordingStatus);
    const tr = el('tr', '', [
      el('td', '', dateTime(call.startedAt)),
      el('td', '', call.technician ?? '—'),
      el('td', '', call.agent ? agentLabel(call.agent) : '—'),
      el('td', 'num', duration(call.durationMs)),
      el('td', '', call.state === 'live' ? 'in progress' : (call.status ?? 'ended')),
      el('td', '', [recording]),
    ]);
    tr.tabIndex = 0;
    tr.dataset.callSid = call.callSid;
    const open = () => void this.open(call.callSid, tr);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => e.key === 'Enter' && open());
    return tr;
  }

  async open(callSid, tr) {
    for (const row of $('calls-body').children) row.classList.toggle('selected', row === tr);
    const detail = $('call-detail');
    detail.hidden = false;
    $('detail-title').textContent = `Call ${shortSid(callSid)}`;
    try {
      this.render(await this.api.get(`/calls/${callSid}`));
    } catch (e) {
      $('detail-facts').replaceChildren(el('dd', 'error', e.message));
    }
  }

  render({ call, transcript, recordings, streamAudio }) {
    $('detail-title').textContent = call
      ? `${call.technician ?? 'Unknown number'} · ${agentLabel(call.agent)}`
      : 'Call';
    const facts = [
      ['Started', dateTime(call?.startedAt)],
      ['Ended', call?.state === 'live' ? 'in progress' : dateTime(call?.endedAt)],
      ['Duration', duration(call?.durationMs)],
      ['Call status', call?.status ?? '—'],
      ['Recording', call?.recordingStatus ?? 'none'],
    ];
    $('detail-facts').replaceChildren(
      ...facts.flatMap(([term, value]) => [el('dt', '', term), el('dd', '', value)]),
    );

    this.players = [];
    $('detail-recordings').replaceChildren(
      ...(recordings.length === 0
        ? [el('p', 'note', RECORDING_NOTES.none)]
        : recordings.map((r) => this.recording(r))),
    );
    $('detail-stream-section').hidden = streamAudio.length === 0;
    $('detail-stream').replaceChildren(
      ...streamAudio.map((file) =>
        this.player(`${speakerLabel(file.speaker)} (live stream)`, file.url, file.durationMs, file.speaker),
      ),
    );

    this.segments = transcript.segments;
    const sources = new Set(this.segments.map((s) => s.source));
    $('source-switch').hidden = sources.size < 2;
    this.showSource(sources.has('recording') ? 'recording' : 'live');
  }

  recording(r) {
    const status = el('p', 'recording-status', [
      el('span', `badge recording-${r.status}`, r.status),
      ` ${r.durationMs !== null ? duration(r.durationMs) : ''} `,
      el('span', 'note', r.status === 'stored' ? '' : (RECORDING_NOTES[r.status] ?? '')),
    ]);
    const error = r.error
      ? el('p', 'error', `${r.error.source ?? ''} ${r.error.code ?? ''} ${r.error.message ?? ''}`.trim())
      : null;
    const order = { dual: 0, agent: 1, technician: 2 };
    const files = [...r.files].sort((a, b) => (order[a.role] ?? 9) - (order[b.role] ?? 9));
    const players = files.map((f) =>
      this.player(
        f.role === 'dual' ? 'Both speakers (dual)' : speakerLabel(f.role),
        f.url,
        f.durationMs,
        f.role,
      ),
    );
    return el('div', 'recording', [status, error, ...players]);
  }

  player(label, url, durationMs, role) {
    const audio = el('audio');
    audio.controls = true;
    audio.preload = 'none';
    audio.src = url;
    audio.dataset.role = role;
    this.players.push(audio);
    return el('div', 'player', [el('span', 'player-label', `${label} · ${duration(durationMs)}`), audio]);
  }

  showSource(source) {
    for (const button of $('source-switch').querySelectorAll('button')) {
      button.setAttribute('aria-pressed', String(button.dataset.source === source));
    }
    this.transcript.show(
      this.segments.filter((s) => s.source === source),
      'No transcript for this call.',
    );
  }

  /** Clicking a line plays the recording from there: the dual file, else the speaker's own. */
  seek(segment) {
    const audio =
      this.players.find((p) => p.dataset.role === 'dual') ??
      this.players.find((p) => p.dataset.role === segment.speaker);
    if (!audio) return;
    audio.currentTime = segment.startMs / 1000;
    void audio.play().catch(() => {});
  }
}
