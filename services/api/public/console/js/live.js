/* global clearInterval, document, setInterval */
import { agentLabel, dateTime, duration, el, shortSid } from './format.js';
import { openEventStream } from './sse.js';
import { TranscriptView } from './transcript-view.js';

const E164 = /^\+[1-9]\d{6,14}$/;
/** Ended calls stay listed this long, so the agent can still read the end of the conversation. */
const KEEP_ENDED_MS = 10 * 60_000;

const $ = (id) => document.getElementById(id);

/**
 * Calls in progress (from the calls and transcripts event streams, so simulated calls show up as well) and the
 * selected call's transcript, live. With Twilio configured, the agent dials from here through the Voice SDK.
 */
export class LiveView {
  constructor({ api, onUnauthorized }) {
    this.api = api;
    this.onUnauthorized = onUnauthorized;
    this.calls = new Map();
    this.selected = null;
    this.streams = [];
    this.callStream = null;
    this.device = null;
    this.activeCall = null;
    this.transcript = new TranscriptView($('live-transcript'), $('jump-latest'));
    this.transcript.clear('Select a call to follow its transcript.');
    $('dial-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.dial(/** @type {HTMLInputElement} */ ($('dial-number')).value.trim());
    });
    $('hang-up').addEventListener('click', () => this.activeCall?.disconnect());
  }

  start(me) {
    this.setupDialer(me);
    const stream = (path, params, onEvent, onState) =>
      openEventStream({
        url: this.api.url(path, params),
        token: () => this.api.token,
        onEvent,
        onState,
        onUnauthorized: this.onUnauthorized,
      });
    this.streams.push(
      stream(
        '/calls/stream',
        {},
        (e) => this.onCallEvent(JSON.parse(e.data)),
        (state) => this.showConnection(state),
      ),
      stream('/transcripts/stream', { kind: 'final' }, (e) => this.onActivity(JSON.parse(e.data))),
    );
    // Calls already in progress when the page opened (from the call history).
    this.api
      .get('/calls', { state: 'live', limit: 20 })
      .then(({ calls }) => {
        for (const call of calls) {
          this.upsert(call.callSid, {
            technician: call.technician,
            agent: call.agent,
            startedAt: Date.parse(call.startedAt),
          });
        }
      })
      .catch(() => {});
    this.ticker = setInterval(() => this.render(), 1000);
  }

  stop() {
    for (const stream of this.streams) stream.close();
    this.streams = [];
    this.callStream?.close();
    this.callStream = null;
    clearInterval(this.ticker);
    this.device?.destroy();
    this.device = null;
    this.calls.clear();
    this.selected = null;
  }

  showConnection(state) {
    const badge = $('live-connection');
    badge.textContent = state === 'open' ? 'live' : state === 'reconnecting' ? 'reconnecting…' : 'offline';
    badge.dataset.state = state;
  }

  onCallEvent(event) {
    const at = Date.parse(event.at);
    switch (event.type) {
      case 'call.started.v1':
        // A phone number comes as a keyed hash and its last two digits, never in clear (docs/privacy.md).
        this.upsert(event.callSid, {
          technician: event.to || (event.toNumber ? `…${event.toNumber.last2}` : undefined),
          agent: event.from || (event.fromNumber ? `…${event.fromNumber.last2}` : undefined),
          startedAt: at,
        });
        break;
      case 'call.stream-started.v1':
        this.upsert(event.callSid, { startedAt: at });
        break;
      case 'call.stream-stopped.v1':
      case 'call.ended.v1':
        if (this.calls.has(event.callSid)) this.upsert(event.callSid, { endedAt: at });
        break;
      case 'call.stream-status.v1':
        // Twilio's own word that the media stream ended: as good a sign as the gateway's.
        if (event.streamEvent === 'stream-stopped' && this.calls.has(event.callSid)) {
          this.upsert(event.callSid, { endedAt: at });
        }
        break;
      case 'call.erased.v1':
        this.forget(event.callSid);
        break;
      default:
        break;
    }
  }

  /** An erased call leaves the console too: nothing of it stays on screen. */
  forget(callSid) {
    if (!this.calls.delete(callSid)) return;
    if (this.selected === callSid) {
      this.selected = null;
      this.callStream?.close();
      this.callStream = null;
      this.transcript.clear('This call was erased.');
    }
    this.render();
  }

  onActivity(event) {
    // Heard before any call event: its start is unknown (the transcript is then read from the stream's start).
    if (!this.calls.has(event.callSid))
      this.upsert(event.callSid, { startedAt: Date.now(), startUnknown: true });
  }

  upsert(callSid, facts) {
    const known = this.calls.get(callSid);
    const call = known ?? { callSid, technician: null, agent: null, startedAt: Date.now(), endedAt: null };
    const earliest = known && facts.startedAt ? Math.min(known.startedAt, facts.startedAt) : undefined;
    for (const [name, value] of Object.entries(facts))
      if (value !== undefined && value !== null) call[name] = value;
    if (earliest !== undefined) call.startedAt = earliest;
    if (known && facts.startUnknown === undefined && facts.startedAt) call.startUnknown = false;
    this.calls.set(callSid, call);
    if (!this.selected && !call.endedAt) this.select(callSid);
    this.render();
  }

  select(callSid) {
    if (this.selected === callSid) return;
    this.selected = callSid;
    this.callStream?.close();
    this.transcript.clear('Waiting for the first words…');
    // From the start of the call: what was said before the agent picked it is shown too.
    const call = this.calls.get(callSid);
    const from = call && !call.startUnknown ? new Date(call.startedAt - 60_000).toISOString() : 'start';
    this.callStream = openEventStream({
      url: this.api.url('/transcripts/stream', { callSid, from }),
      token: () => this.api.token,
      onEvent: (e) => this.transcript.apply(JSON.parse(e.data)),
      onUnauthorized: this.onUnauthorized,
    });
    this.render();
  }

  render() {
    const now = Date.now();
    for (const [sid, call] of this.calls) {
      if (call.endedAt && now - call.endedAt > KEEP_ENDED_MS && sid !== this.selected) this.calls.delete(sid);
    }
    const list = $('live-calls');
    const calls = [...this.calls.values()].sort(
      (a, b) => Number(!!a.endedAt) - Number(!!b.endedAt) || b.startedAt - a.startedAt,
    );
    // Items are updated in place (not rebuilt every second), so a click or keyboard focus is never lost.
    for (const call of calls) {
      call.item ??= this.createItem(call);
      const { li, button, party, sub } = call.item;
      party.textContent = call.technician ?? 'Unknown number';
      sub.textContent = `${agentLabel(call.agent)} · ${duration((call.endedAt ?? now) - call.startedAt)} · ${call.endedAt ? 'ended' : 'live'}`;
      li.className = call.endedAt ? 'is-ended' : 'is-live';
      button.setAttribute('aria-pressed', String(call.callSid === this.selected));
    }
    const items = calls.map((call) => call.item.li);
    if (items.some((li, i) => list.children[i] !== li) || list.children.length !== items.length) {
      list.replaceChildren(...items);
    }
    $('live-empty').hidden = calls.length > 0;
    const selected = this.calls.get(this.selected);
    $('live-title').textContent = selected
      ? `${selected.technician ?? 'Unknown number'} · ${agentLabel(selected.agent)}`
      : 'No call selected';
    $('live-meta').textContent = selected
      ? `${shortSid(selected.callSid)} · started ${dateTime(new Date(selected.startedAt).toISOString())} · ${selected.endedAt ? 'ended' : 'in progress'}`
      : '';
  }

  createItem(call) {
    const party = el('span', 'call-party');
    const sub = el('span', 'call-sub');
    const button = el('button', 'call-item', [party, sub]);
    button.type = 'button';
    button.dataset.callSid = call.callSid;
    button.addEventListener('click', () => this.select(call.callSid));
    return { li: el('li', '', [button]), button, party, sub };
  }

  setupDialer(me) {
    const form = $('dial-form');
    const status = $('dial-status');
    form.hidden = !me.voice.enabled;
    status.textContent = me.voice.enabled
      ? 'Calls go out through Twilio; the transcript follows below.'
      : 'Calling from the console is not configured on this gateway. Calls placed elsewhere, simulated ones too, appear under Live calls.';
  }

  async dial(number) {
    const status = $('dial-status');
    if (!E164.test(number)) {
      status.textContent = 'Enter the number in international format, e.g. +15551234567.';
      return;
    }
    try {
      /** @type {HTMLButtonElement} */ ($('dial-button')).disabled = true;
      status.textContent = 'Connecting…';
      if (!this.device) {
        const [{ Device }, { token }] = await Promise.all([
          // @ts-expect-error -- bundled at build time (build-assets.ts) and served as /console/vendor/.
          import('../vendor/twilio-voice.js'),
          this.api.post('/voice/token'),
        ]);
        this.device = new Device(token, { closeProtection: true });
        this.device.on('tokenWillExpire', async () => {
          const fresh = await this.api.post('/voice/token');
          this.device.updateToken(fresh.token);
        });
      }
      // Twilio forwards connect params to the voice webhook: the call's transcription language and hints.
      const language = /** @type {HTMLSelectElement} */ ($('dial-language')).value;
      const hints = /** @type {HTMLInputElement} */ ($('dial-hints')).value.trim();
      const params = { To: number, ...(language ? { language } : {}), ...(hints ? { hints } : {}) };
      const call = await this.device.connect({ params });
      this.activeCall = call;
      $('hang-up').hidden = false;
      call.on('accept', () => {
        status.textContent = 'Connected.';
        const callSid = call.parameters.CallSid;
        if (callSid) {
          this.upsert(callSid, { technician: number, startedAt: Date.now() });
          this.selected = null;
          this.select(callSid);
        }
      });
      const ended = (text) => () => {
        status.textContent = text;
        $('hang-up').hidden = true;
        /** @type {HTMLButtonElement} */ ($('dial-button')).disabled = false;
        this.activeCall = null;
      };
      call.on('disconnect', ended('Call ended.'));
      call.on('cancel', ended('Call cancelled.'));
      call.on('reject', ended('Call rejected.'));
      call.on('error', (error) => ended(`Call failed: ${error.message}`)());
    } catch (error) {
      status.textContent = `Could not place the call: ${error.message}`;
      /** @type {HTMLButtonElement} */ ($('dial-button')).disabled = false;
    }
  }
}
