import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { decodeMediaBatch, mediaSections, type AnyMediaBatch } from '@calltx/events/internal';
import { type Subjects, type Track } from '@calltx/events';
import { type Claim } from '../claims/index.js';
import { backoffDelayMs, type RetryPolicy } from '@calltx/retry';
import { type Logger } from '@calltx/runtime';
import { type ObjectStore } from '@calltx/storage';
import type { CallRow, CallsRepo } from '../db/calls-repo.js';
import type { LiveFinalsAuditSettings } from '../db/live-finals-audits.js';
import { announceAudioStored } from '../finalize/announce.js';
import { announcedEnds, listParts, writeCallWavs, type CallWavs } from '../finalize/call-wavs.js';
import { setAsideUnreadable } from '../finalize/unreadable-parts.js';
import { decodePayload, timestampInRange, type Frame } from '../frames/frame.js';
import { LiveTrack } from '../live/live-track.js';
import { resumeLivePath, type LiveResumeSettings } from '../live/resume.js';
import type { SpeechSinkFactory } from '../live/speech-sink.js';
import type { IngestMetrics, RejectReason } from '../metrics.js';
import { TrackSpool, ackAfter } from '../spool/track-spool.js';
import { applyStreamRedactions, type AudioRedaction } from '../redaction/stream-redaction.js';
import {
  deleteMediaConsumers,
  mediaConsumerDrained,
  openMediaConsumer,
  purgeCallMedia,
} from './media-consumer.js';

export interface CallTiming {
  partFlushMs: number;
  maxPartFrames: number;
  /** No media for this long and no stop: finalize. */
  idleFinalizeMs: number;
  /** After call.ended without a stream stop: finalize once media has been quiet this long. */
  endedGraceMs: number;
  /** After audio-stored, late frames are counted (as call-finished) this long before the consumer goes. */
  lingerMs: number;
  ackWaitMs: number;
  maxAckPending: number;
  /** Bytes of messages fetched ahead: bounds memory while catching up (must hold the largest message). */
  fetchMaxBytes: number;
  /** Where a taken-over call's live path restarts. */
  liveResume: LiveResumeSettings;
}

export interface OwnedCallDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  store: ObjectStore;
  repo: CallsRepo;
  metrics: IngestMetrics;
  logger: Logger;
  speechSinks: SpeechSinkFactory;
  timing: CallTiming;
  /** NATS_STREAM_REPLICAS > 1. */
  replicated: boolean;
  /** AUDIO_REDACT on: the WAVs get the live finals' redacted spans, and the call's MEDIA messages are purged. */
  audioRedaction?: AudioRedaction | undefined;
  /** Audits the call's live finals once its WAVs are stored (absent: off). */
  liveFinalsAudit?: LiveFinalsAuditSettings | undefined;
}

export type FinalizeTrigger = 'stopped' | 'ended' | 'idle';
type Phase = 'starting' | 'live' | 'finalizing' | 'lingering' | 'stopping' | 'done';

interface TrackState {
  speaker: string;
  spool: TrackSpool;
  live: LiveTrack;
  lastTimestampMs: number;
}

/** Waits between attempts to replace a call's media consumer; tried for as long as the call is live here. */
const CONSUMER_REPLACE_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 250, capMs: 5_000, jitter: 0.2 };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * One call this replica owns: its media consumer read strictly in order, one message at a time; frames spooled to
 * part objects (acknowledged once stored) and fed to the live speech path; then, once the stream is over, the
 * WAVs written from the parts, `audio-stored` published and the call's consumer, parts and claim removed.
 * Losing the claim stops everything at once, without writing or acknowledging anything more.
 */
export class OwnedCall {
  readonly callSid: string;
  private phase: Phase = 'starting';
  private readonly tracks = new Map<Track, TrackState>();
  private messages: ConsumerMessages | undefined;
  /**
   * The message being handled. Its frames can be stored and acknowledged (the consumer drained, so finalize may
   * start) before the handler has handed them to the live path: finalize waits for it.
   */
  private handling: Promise<void> = Promise.resolve();
  /** This owner's MEDIA consumer, once created. */
  private consumer: { name: string; generation: number } | undefined;
  private loop: Promise<void> | undefined;
  private finalizing: Promise<void> | undefined;
  private ticking = false;
  private lastActivityAt = Date.now();
  private readonly stopping = new AbortController();
  private readonly rejected = new Map<RejectReason, number>();
  private readonly log: Logger;

  constructor(
    private row: CallRow,
    private readonly claim: Claim,
    private readonly deps: OwnedCallDeps,
    private readonly onDone: (call: OwnedCall) => void,
  ) {
    this.callSid = row.callSid;
    this.log = deps.logger.child({ callSid: row.callSid });
    claim.signal.addEventListener('abort', () => this.lost());
  }

  get state(): Phase {
    return this.phase;
  }

  async start(): Promise<void> {
    await this.resumeLive();
    if (this.row.ingestState === 'stored') {
      // WAVs and their rows exist already (a previous owner died before announcing them): finish the job. The live
      // path was replayed from the parts all the same: finalize ends it, so a final that owner had not published
      // yet (JetStream unavailable when it died) is published now, under the same id.
      this.phase = 'finalizing';
      this.finalizing = this.finalize('stopped');
      return;
    }
    await this.openAndConsume();
    if (this.phase === 'starting') this.phase = 'live';
    else await this.messages?.close(); // lost or stopped while starting
  }

  /** Creates each track's spool and live path, the latter resumed from the stored parts after the last final. */
  private async resumeLive(): Promise<void> {
    const { timing, store, metrics, repo } = this.deps;
    const progress = await repo.liveProgress(this.callSid);
    for (const track of this.row.tracks) {
      const speaker = this.row.speakers[track];
      this.tracks.set(track, {
        speaker,
        lastTimestampMs: -1,
        live: new LiveTrack(this.deps.speechSinks(this.callSid, speaker, progress.get(speaker))),
        spool: new TrackSpool({
          store,
          callSid: this.callSid,
          speaker,
          metrics,
          flushMs: timing.partFlushMs,
          maxFrames: timing.maxPartFrames,
          mayWrite: () => this.claim.isHeld(),
          onError: (error) =>
            this.log.error({ err: error, speaker }, 'part not stored; its frames will be redelivered'),
        }),
      });
    }
    for (const { speaker, live } of this.tracks.values()) {
      const resumedAt = await resumeLivePath({
        store,
        callSid: this.callSid,
        speaker,
        live,
        after: progress.get(speaker),
        settings: timing.liveResume,
        mayContinue: () => this.claim.isHeld() && this.phase === 'starting',
        unreadable: (part, error) =>
          this.log.warn({ err: error, speaker, key: part.key }, 'unreadable part left out of the live path'),
      });
      if (resumedAt !== null) this.log.info({ speaker, resumedAt }, 'live path resumed from stored audio');
    }
  }

  /** Called on every sweep with the call's current row: finalizes once the stream is over and fully spooled. */
  async tick(row: CallRow): Promise<void> {
    if (this.ticking || this.phase !== 'live') return;
    this.ticking = true;
    try {
      this.row = row;
      const trigger = this.finalizeTrigger();
      if (!trigger) return;
      await Promise.all([...this.tracks.values()].map((t) => t.spool.flush()));
      const spooling = [...this.tracks.values()].some((t) => t.spool.busy);
      if (spooling || !this.consumer) return;
      if (!(await mediaConsumerDrained(this.deps.jsm, this.deps.subjects, this.consumer.name))) return;
      if (this.phase !== 'live') return;
      this.phase = 'finalizing';
      this.finalizing = this.finalize(trigger);
      await this.finalizing;
    } catch (error) {
      this.log.error({ err: error }, 'call check failed; retrying at the next sweep');
    } finally {
      this.ticking = false;
    }
  }

  /** Graceful stop (shutdown): stores what is spooled, acknowledges it, and releases the claim for another replica. */
  async stop(): Promise<void> {
    if (this.phase === 'done') return;
    const wasLive = this.phase === 'live' || this.phase === 'starting';
    this.phase = 'stopping';
    this.stopping.abort();
    await this.messages?.close();
    await this.loop;
    if (wasLive) await Promise.all([...this.tracks.values()].map((t) => t.spool.flush()));
    await this.finalizing?.catch(() => undefined);
    await this.claim.release();
    this.done();
  }

  private finalizeTrigger(): FinalizeTrigger | undefined {
    const quietMs = Date.now() - this.lastActivityAt;
    const { endedGraceMs, idleFinalizeMs } = this.deps.timing;
    if (this.row.streamStoppedAt) return 'stopped';
    if (this.row.endedAt && quietMs >= endedGraceMs) return 'ended';
    return quietMs >= idleFinalizeMs ? 'idle' : undefined;
  }

  private async openAndConsume(): Promise<void> {
    const { jsm, js, subjects, timing, repo } = this.deps;
    const generation = await repo.nextMediaConsumerGeneration(this.callSid);
    const name = await openMediaConsumer({
      jsm,
      subjects,
      callSid: this.callSid,
      ackWaitMs: timing.ackWaitMs,
      maxAckPending: timing.maxAckPending,
      replicated: this.deps.replicated,
      generation,
    });
    this.consumer = { name, generation };
    const consumer = await js.consumers.get(subjects.streamName('media'), name);
    // A consumer gone from the server ends the iteration instead of waiting for it to come back, which it never does.
    const messages = await consumer.consume({
      max_bytes: timing.fetchMaxBytes,
      abort_on_missing_resource: true,
    });
    this.messages = messages;
    this.loop = (async () => {
      let lastDelivery = 0;
      let ended: unknown;
      try {
        for await (const msg of messages) {
          if (!this.claim.isHeld()) break;
          // A skipped consumer sequence is a delivery lost on its way (a NATS server died with it). JetStream would
          // send it again only after ack_wait, when the live path has filled its place with silence: instead this
          // message is left, and a consumer of the next generation delivers everything from the ack floor in order.
          const delivery = msg.info.deliverySequence;
          if (lastDelivery > 0 && delivery > lastDelivery + 1) {
            this.log.warn(
              { missed: delivery - lastDelivery - 1, seq: msg.seq },
              'media deliveries lost in flight: consuming again from the ack floor',
            );
            void this.consumeAgain(messages);
            return;
          }
          lastDelivery = delivery;
          try {
            this.handling = this.handle(msg);
            await this.handling;
          } catch (error) {
            // Left unacknowledged: redelivered after ack_wait.
            this.log.error({ err: error, seq: msg.seq }, 'media message not handled');
          }
        }
      } catch (error) {
        ended = error;
      }
      // Ended while the call is live here, not by this owner: its consumer is gone (a cluster lost it, or someone
      // deleted it). Left so, nothing would read the call's media and no sweep would finalize it.
      if (!this.claim.isHeld() || (this.phase !== 'live' && this.phase !== 'starting')) return;
      this.log.warn({ err: ended }, 'media consumption ended while the call is live: consuming again');
      void this.consumeAgain(messages);
    })();
  }

  /**
   * Replaces the call's consumer (openMediaConsumer: at the ack floor, in stream order) after a lost delivery,
   * retrying until it has one or the call is no longer live here: without it nothing reads the call's media and no
   * sweep finalizes the call, while the claim keeps every other replica away (a replacement failing during an
   * election would wedge the call).
   */
  private async consumeAgain(lost: ConsumerMessages): Promise<void> {
    this.consumer = undefined; // no drained check on the consumer being replaced
    await lost.close();
    for (
      let attempt = 1;
      this.claim.isHeld() && (this.phase === 'live' || this.phase === 'starting');
      attempt++
    ) {
      try {
        await this.openAndConsume();
        if (this.phase !== 'live' && this.phase !== 'starting') await this.messages?.close();
        return;
      } catch (error) {
        const retryInMs = backoffDelayMs(CONSUMER_REPLACE_RETRY, attempt);
        this.log.error({ err: error, attempt, retryInMs }, 'media consumer not replaced; retrying');
        await sleep(retryInMs, this.stopping.signal);
      }
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    this.lastActivityAt = Date.now();
    const parsed = this.deps.subjects.parse(msg.subject);
    if (parsed?.family !== 'media' || parsed.callSid !== this.callSid) {
      this.reject('unknown-track', 1, { subject: msg.subject });
      msg.term(); // no reason text: NATS 2.9 ignores a `+TERM <reason>` and leaves the message pending
      return;
    }
    let event: AnyMediaBatch;
    try {
      // media.frames.v3 (both tracks), v2 (one track, binary) or v1 (JSON), from gateways of any release: all read.
      event = decodeMediaBatch(msg.data, `message on ${msg.subject}`);
    } catch (error) {
      this.reject('invalid-message', 1, { issues: (error as { issues?: unknown }).issues });
      msg.term();
      return;
    }
    const scope = event.type === 'media.frames.v3' ? 'both' : event.track;
    if (scope !== parsed.track || event.callSid !== this.callSid) {
      this.reject('invalid-message', 1, { issues: ['track or callSid differs from the subject'] });
      msg.term();
      return;
    }
    const sections = mediaSections(event);
    // Stopping or stopped here: left unacknowledged for the next owner.
    if (this.phase === 'stopping' || this.phase === 'done') return;
    if (this.phase === 'finalizing' || this.phase === 'lingering') {
      this.reject(
        'call-finished',
        sections.reduce((n, s) => n + s.frames.length, 0),
      );
      msg.ack();
      return;
    }
    const spooled: Array<{ track: TrackState; frames: Frame[] }> = [];
    for (const section of sections) {
      const track = this.tracks.get(section.track);
      if (!track) {
        this.reject('unknown-track', section.frames.length, { track: section.track });
        continue;
      }
      const accepted = this.accept(track, section.frames);
      if (accepted.length > 0) spooled.push({ track, frames: accepted });
    }
    if (spooled.length === 0) {
      msg.ack();
      return;
    }
    // Acknowledged once every spool holding some of its frames has stored them (a part each).
    const ack = spooled.length === 1 ? msg : ackAfter(spooled.length, msg);
    for (const { track, frames } of spooled) await track.spool.add(frames, ack);
    for (const { track, frames } of spooled) await track.live.push(frames, event.receivedAt);
  }

  /** The frames of one track that can be placed; the rest are counted as rejected. */
  private accept(
    track: TrackState,
    frames: ReadonlyArray<{ timestampMs: number; payload: string | Uint8Array }>,
  ): Frame[] {
    const accepted: Frame[] = [];
    for (const frame of frames) {
      const payload = decodePayload(frame.payload);
      if (typeof payload === 'string') {
        this.reject(payload, 1, { speaker: track.speaker, timestampMs: frame.timestampMs });
        continue;
      }
      if (!timestampInRange(frame.timestampMs, track.lastTimestampMs)) {
        this.reject('timestamp-out-of-range', 1, { speaker: track.speaker, timestampMs: frame.timestampMs });
        continue;
      }
      track.lastTimestampMs = Math.max(track.lastTimestampMs, frame.timestampMs);
      accepted.push({ timestampMs: frame.timestampMs, payload });
    }
    return accepted;
  }

  private reject(reason: RejectReason, frames: number, detail: Record<string, unknown> = {}): void {
    this.deps.metrics.rejectedFrames.inc({ reason }, frames);
    const before = this.rejected.get(reason) ?? 0;
    this.rejected.set(reason, before + frames);
    // The first of each kind per call at warn level; a flood of garbage must not flood the log.
    if (before === 0) this.log.warn({ reason, frames, ...detail }, 'media rejected');
    else this.log.debug({ reason, frames, ...detail }, 'media rejected');
  }

  /**
   * Writes the WAVs (unless a previous attempt or owner already did: the database says), then announces them and
   * cleans up. Never throws: a failed attempt is retried, from the state the database holds.
   */
  private async finalize(trigger: FinalizeTrigger): Promise<void> {
    const { store, repo, metrics } = this.deps;
    const stopTimer = metrics.finalizeSeconds.startTimer();
    try {
      await this.handling.catch(() => undefined);
      // Ended at once (the utterance in progress is cut); awaited before the WAVs are marked stored, which schedules
      // the live-finals audit, and before the call is finalized, after which no owner replays its live path.
      const liveEnded = Promise.all([...this.tracks.values()].map((track) => track.live.end()));
      const state = (await repo.get(this.callSid))?.ingestState;
      if (state === 'active') {
        this.log.info({ trigger }, 'finalizing call');
        const speakers = this.row.tracks.map((track) => this.row.speakers[track]);
        const wavs = await writeCallWavs(
          store,
          this.callSid,
          speakers,
          announcedEnds(this.row),
          this.claim.signal,
        );
        if (!this.claim.isHeld()) return;
        for (const { speaker, unreadable } of wavs.speakers) {
          await setAsideUnreadable({ ...this.deps, logger: this.log }, this.callSid, speaker, unreadable);
        }
        await liveEnded;
        if (await repo.markStored(this.callSid, wavs, trigger, this.deps.liveFinalsAudit))
          this.stored(wavs, trigger);
      }
      await liveEnded;
      await this.announceAndClean();
    } catch (error) {
      if (!this.claim.isHeld() || this.phase !== 'finalizing') return;
      this.log.error({ err: error, trigger }, 'finalize failed; retrying');
      const timer = setTimeout(() => {
        if (this.phase === 'finalizing' && this.claim.isHeld()) this.finalizing = this.finalize(trigger);
      }, this.deps.timing.partFlushMs);
      timer.unref();
    } finally {
      stopTimer();
    }
  }

  /** Counts and logs a call's WAVs, once (the transition to `stored`). */
  private stored(wavs: CallWavs, trigger: FinalizeTrigger): void {
    const { metrics } = this.deps;
    metrics.finalized.inc({ trigger });
    for (const s of wavs.speakers) metrics.gapFilledMs.inc({ speaker: s.speaker }, s.gapFilledMs);
    const expected = this.row.framesExpected;
    for (const [track, state] of this.tracks) {
      const placed = wavs.speakers.find((s) => s.speaker === state.speaker)?.framesPlaced ?? 0;
      if (expected && placed < expected[track]) {
        this.log.warn(
          { speaker: state.speaker, expected: expected[track], placed },
          'fewer frames stored than the gateway published',
        );
      }
    }
    const speakers = wavs.speakers.map(({ speaker, gapFilledMs, framesPlaced, duplicates }) => ({
      speaker,
      gapFilledMs,
      framesPlaced,
      duplicates,
    }));
    this.log.info({ trigger, durationMs: wavs.durationMs, speakers }, 'call audio stored');
  }

  private async announceAndClean(): Promise<void> {
    const { jsm, subjects, repo, store } = this.deps;
    // Spans that arrived while the call was live (and after a crash, any not applied yet): before the
    // announcement, so it carries the hashes of the redacted files.
    await applyStreamRedactions({ ...this.deps, logger: this.log }, this.callSid, () => this.claim.isHeld());
    const files = await announceAudioStored(this.deps, this.callSid, `${this.callSid}:audio-stored`, () =>
      this.claim.isHeld(),
    );
    if (!this.claim.isHeld()) return;

    if (this.messages) {
      this.phase = 'lingering';
      await sleep(this.deps.timing.lingerMs, this.stopping.signal);
      await this.messages.close();
      await this.loop;
    }
    if (!this.claim.isHeld()) return;
    const generation = Math.max(this.consumer?.generation ?? 0, this.row.mediaConsumerGeneration);
    await deleteMediaConsumers(jsm, subjects, this.callSid, generation);
    if (this.deps.audioRedaction) {
      const purged = await purgeCallMedia(jsm, subjects, this.callSid);
      this.log.info({ purged }, 'call media purged');
    }
    // Parts set aside as unreadable may become readable: the WAVs are then written again from all the parts.
    if ((await repo.unreadableParts(this.callSid)).length === 0) {
      for (const speaker of new Set(files.map((f) => f.speaker))) {
        for (const part of await listParts(store, this.callSid, speaker)) await store.remove(part.key);
      }
    }
    // Spans that landed during the linger: their handlers found the call held and retry, but need not wait.
    await applyStreamRedactions({ ...this.deps, logger: this.log }, this.callSid, () => this.claim.isHeld());
    await repo.markFinalized(this.callSid);
    this.log.info('call finalized');
    await this.claim.release();
    this.done();
  }

  private lost(): void {
    if (this.phase === 'done') return;
    this.deps.metrics.claimsLost.inc();
    this.log.warn({ phase: this.phase }, 'claim lost: call no longer processed here');
    this.stopping.abort();
    for (const track of this.tracks.values()) track.spool.discard();
    void this.messages?.close();
    this.done();
  }

  private done(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.onDone(this);
  }
}
