/* global FormData, URL, document, setTimeout */
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
    this.transcript.onWordClick = (word, utterance) =>
      this.seek({ speaker: utterance.speaker, startMs: word.startMs });
    this.players = [];
    $('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.search(new FormData(/** @type {HTMLFormElement} */ (e.target)));
    });
    $('load-more').addEventListener('click', () => void this.loadPage());
    $('detail-downloads').addEventListener('click', (e) => {
      const format = /** @type {Element} */ (e.target).closest('button')?.dataset.format;
      if (format) void this.download(format);
    });
    $('source-switch').addEventListener('click', (e) => {
      const source = /** @type {Element} */ (e.target).closest('button')?.dataset.source;
      if (source) void this.showSource(source);
    });
  }

  start() {
    void this.search(new FormData(/** @type {HTMLFormElement} */ ($('search-form'))));
  }

  async search(form) {
    const q = String(form.get('q') ?? '').trim();
    const number = String(form.get('number') ?? '').trim();
    const from = String(form.get('from') ?? '');
    const to = String(form.get('to') ?? '');
    // Dates are the agent's local days: from its first moment to the first moment of the day after "to".
    const day = (value, plusDays = 0) => {
      const [y, m, d] = value.split('-').map(Number);
      return new Date(y, m - 1, d + plusDays).toISOString();
    };
    this.filter = {
      q: q || undefined,
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
      $('calls-body').append(...page.calls.flatMap((call) => this.row(call)));
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
    if (!call.match) return [tr];
    // A search hit: the words found, in the best matching utterance, under the call.
    const { match } = call;
    const snippet = el('td', 'snippet', [
      el('span', 'who', `${speakerLabel(match.speaker)} at ${duration(match.startMs)}: `),
      ...match.snippet.map((part) => (part.highlight ? el('mark', '', part.text) : part.text)),
    ]);
    snippet.colSpan = 6;
    const hit = el('tr', 'hit', [snippet]);
    hit.addEventListener('click', open);
    return [tr, hit];
  }

  async open(callSid, tr) {
    for (const row of $('calls-body').children) row.classList.toggle('selected', row === tr);
    const detail = $('call-detail');
    detail.hidden = false;
    $('detail-title').textContent = `Call ${shortSid(callSid)}`;
    this.callSid = callSid;
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
    void this.showSource(sources.has('recording') ? 'recording' : 'live');
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
    // The word being said, of the speaker heard (of both on the dual file).
    const speaker = role === 'dual' ? undefined : role;
    const mark = () => this.transcript.markSpeaking(audio.currentTime * 1000, speaker);
    audio.addEventListener('timeupdate', mark);
    audio.addEventListener('seeked', mark);
    this.players.push(audio);
    return el('div', 'player', [el('span', 'player-label', `${label} · ${duration(durationMs)}`), audio]);
  }

  /** The transcript of one source, with word timings where its finals have them (the JSON export). */
  async showSource(source) {
    for (const button of $('source-switch').querySelectorAll('button')) {
      button.setAttribute('aria-pressed', String(button.dataset.source === source));
    }
    this.source = source;
    const callSid = this.callSid;
    let utterances = this.segments.filter((s) => s.source === source);
    try {
      utterances = (await this.api.get(`/calls/${callSid}/transcript`, { source, format: 'json' }))
        .utterances;
    } catch {
      // The lines without word timings, as the call's detail has them.
    }
    if (this.callSid !== callSid || this.source !== source) return;
    this.transcript.show(utterances, 'No transcript for this call.');
  }

  async download(format) {
    const error = $('search-error');
    error.textContent = '';
    try {
      const blob = await this.api.blob(`/calls/${this.callSid}/transcript`, { format, source: this.source });
      const link = el('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${this.callSid}-${this.source}.${format}`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : 'The transcript could not be downloaded.';
    }
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
