import { retry, type RetryPolicy } from '@calltx/retry';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { InvalidMessageError, recordingEvents, type RecordingEvent, type Subjects } from '@calltx/events';
import { internalEvents } from '@calltx/events/internal';
import { publishEvent } from '@calltx/nats';
import { type Logger } from '@calltx/runtime';
import { type ObjectStore } from '@calltx/storage';
import { archiveRecording, type ArchiveKeys, type ArchivedRecording } from '../archive/archive-recording.js';
import type { RecordingRow, RecordingsRepository } from '../db/recordings-repository.js';
import { openDownload, type DownloadLimits } from '../download/http-download.js';
import { RecordingLease } from '../db/recording-lease.js';
import {
  RecordingBusyError,
  RecordingFetchError,
  RecordingLeaseLostError,
  ShuttingDownError,
} from '../errors.js';
import type { FetcherMetrics } from '../metrics.js';
import { deleteRecordingAtTwilio } from '../twilio/delete-recording.js';
import type { TwilioRecordingApi } from '../twilio/recording-api.js';
import type { RedirectPolicy } from '../twilio/redirect-policy.js';
import { applyRecordingRedactions, type AudioRedaction } from '../redaction/recording-redaction.js';

type StatusCallback = Extract<RecordingEvent, { type: 'recording.status.v1' }>;

export interface ProcessorSettings {
  accountSid: string;
  /** Channel 1 and channel 2 → speaker. */
  channelSpeakers: readonly [string, string];
  limits: DownloadLimits;
  /** Downloads of one delivery: tries, and the waits between them (`fetchRetry` in app.ts, from the config). */
  retry: RetryPolicy;
  ackWaitMs: number;
  deleteAfterStore: boolean;
}

export interface ProcessorDeps {
  settings: ProcessorSettings;
  repository: RecordingsRepository;
  store: ObjectStore;
  js: JetStreamClient;
  subjects: Subjects;
  api: TwilioRecordingApi;
  policy: RedirectPolicy;
  logger: Logger;
  metrics: FetcherMetrics;
  /** Aborted on shutdown: work in flight is abandoned (and redelivered elsewhere). */
  signal: AbortSignal;
  /** AUDIO_REDACT on (undefined: off): stored objects get the recording finals' redacted spans covered. */
  audioRedaction?: AudioRedaction | undefined;
  /** Whether the call was erased: its callbacks are ignored, nothing of it is archived again. */
  isErased: (callSid: string) => Promise<boolean>;
}

/** Where a recording's objects live: derived from the SIDs only, so every retry writes the same keys. */
export function recordingKeys(
  callSid: string,
  recordingSid: string,
  channelSpeakers: readonly [string, string],
): ArchiveKeys {
  const base = `calls/${callSid}/recordings/${recordingSid}`;
  return {
    dual: `${base}/dual.wav`,
    channels: [
      { speaker: channelSpeakers[0], key: `${base}/${channelSpeakers[0]}.wav` },
      { speaker: channelSpeakers[1], key: `${base}/${channelSpeakers[1]}.wav` },
    ],
  };
}

/**
 * Handles recording callbacks. For `completed`: under a per-recording lease (RecordingLease), downloads once
 * (retrying what can succeed later), archives, records `stored` with the objects, then publishes the events
 * (with Nats-Msg-Ids, so a repeat is dropped) and, if configured, deletes the recording at Twilio. Each step is
 * recorded in the row, by the lease holder only, before the next, so a redelivery after a crash resumes where
 * it stopped and never repeats a finished step.
 */
export class RecordingProcessor {
  constructor(private readonly deps: ProcessorDeps) {}

  async handle(event: RecordingEvent, msg: JsMsg): Promise<void> {
    // Our own `stored` events share the subject family.
    if (event.type !== 'recording.status.v1') return;
    const { repository, settings, logger, metrics } = this.deps;
    if (event.accountSid !== settings.accountSid) {
      throw new InvalidMessageError('recording callback', ['accountSid: not this account']);
    }
    const facts = {
      recordingSid: event.recordingSid,
      callSid: event.callSid,
      durationSeconds: event.durationSeconds,
      channels: event.channels,
      errorCode: event.errorCode,
    };
    const context = { recordingSid: event.recordingSid, callSid: event.callSid };
    if (await this.deps.isErased(event.callSid)) {
      // A recording finished after the erasure (the call's last seconds) is not kept at Twilio either.
      if (event.status === 'completed')
        await deleteRecordingAtTwilio(this.deps.api, event.recordingSid, settings.limits.timeoutMs);
      logger.info(context, 'callback of an erased call: ignored');
      return;
    }
    switch (event.status) {
      case 'in-progress':
        await repository.noteInProgress(facts);
        return;
      case 'absent':
      case 'failed':
        await repository.noteTwilioOutcome(facts, event.status);
        metrics.outcomes.inc({ outcome: event.status === 'absent' ? 'absent' : 'twilio-failed' });
        logger.warn(
          { ...context, status: event.status, errorCode: event.errorCode },
          'twilio reports no recording',
        );
        return;
      case 'completed':
        await repository.noteCompleted(facts);
        await this.fetchOnce(event, msg);
        return;
    }
  }

  private async fetchOnce(event: StatusCallback, msg: JsMsg): Promise<void> {
    const { repository, settings } = this.deps;
    // As long as JetStream waits for a silent delivery: by the time it redelivers, the lease has lapsed.
    const lease = await RecordingLease.claim(repository, event.recordingSid, settings.ackWaitMs);
    if (!lease) throw new RecordingBusyError(event.recordingSid);
    // Under the lease: an erasure that began meanwhile waits for leases, so one of the two sees the other.
    if (await this.deps.isErased(event.callSid)) {
      await lease.release();
      return;
    }
    const signal = AbortSignal.any([this.deps.signal, lease.signal]);
    // Tells JetStream this delivery is alive, so a long download is not redelivered to another replica.
    const heartbeat = setInterval(() => msg.working(), Math.max(250, settings.ackWaitMs / 3));
    this.deps.metrics.inFlight.inc();
    try {
      let row = await repository.get(event.recordingSid);
      if (row && (row.status === 'completed' || (row.status === 'failed' && row.errorSource === 'fetcher'))) {
        await this.download(event, lease.owner, signal);
        row = await repository.get(event.recordingSid);
      }
      if (row?.status === 'stored') await this.finish(row, lease.owner, signal);
    } finally {
      clearInterval(heartbeat);
      this.deps.metrics.inFlight.dec();
      await lease.release();
    }
  }

  /** Up to `retry.attempts` downloads; the outcome (stored or failed with its reason) is recorded in the row. */
  private async download(event: StatusCallback, owner: string, signal: AbortSignal): Promise<void> {
    const { repository, settings, logger, metrics } = this.deps;
    const keys = recordingKeys(event.callSid, event.recordingSid, settings.channelSpeakers);
    const context = { recordingSid: event.recordingSid, callSid: event.callSid };
    let attempt = 0;
    const tryOnce = async (n: number) => {
      attempt = n;
      await repository.countAttempt(event.recordingSid, owner);
      const stopTimer = metrics.archiveSeconds.startTimer();
      try {
        const archived = await this.archive(event.recordingSid, keys, signal);
        await this.verifyStored(archived);
        await repository.markStored(event.recordingSid, owner, archived);
        stopTimer();
        return archived;
      } catch (error) {
        if (!signal.aborted && error instanceof RecordingFetchError)
          metrics.attempts.inc({ result: error.code });
        throw error;
      }
    };
    try {
      const archived = await retry(tryOnce, settings.retry, {
        signal,
        // Storage, database and other infrastructure errors: the consumer retries the whole delivery later.
        retryable: (error) => !signal.aborted && error instanceof RecordingFetchError && error.retryable,
        onRetry: ({ error, attempt, delayMs }) =>
          logger.warn(
            { ...context, attempt, code: (error as RecordingFetchError).code, err: error, delayMs },
            'recording download failed, will retry',
          ),
      });
      metrics.attempts.inc({ result: 'ok' });
      metrics.outcomes.inc({ outcome: 'stored' });
      for (const object of archived.objects) metrics.bytes.inc({ role: object.role }, object.bytes);
      logger.info(
        { ...context, attempt, durationMs: archived.durationMs, sampleRate: archived.sampleRate },
        'recording stored',
      );
    } catch (error) {
      if (signal.aborted) throw whyStopped(signal, error);
      if (!(error instanceof RecordingFetchError)) throw error;
      // Objects a crashed earlier delivery may have completed must not outlive a failed recording. Only a
      // holder whose lease was just confirmed removes them, so a stale one cannot delete a new holder's work.
      if (!(await repository.renewLease(event.recordingSid, owner, settings.ackWaitMs))) {
        throw new RecordingLeaseLostError(event.recordingSid, 'expired or taken over');
      }
      await Promise.all(
        [keys.dual, ...keys.channels.map((c) => c.key)].map((key) => this.deps.store.remove(key)),
      );
      await repository.markFailed(event.recordingSid, owner, error.code, error.message);
      // The outcome is public: readers (the api's read model) learn it only from this event.
      await publishEvent(
        this.deps.js,
        this.deps.subjects.recording(event.callSid, 'failed'),
        recordingEvents.fetchFailed({
          callSid: event.callSid,
          at: new Date().toISOString(),
          recordingSid: event.recordingSid,
          errorCode: error.code,
          errorMessage: error.message.slice(0, 1000),
        }),
        `${event.recordingSid}:fetch-failed:${error.code}`,
      );
      metrics.outcomes.inc({ outcome: 'failed' });
      logger.error({ ...context, attempt, code: error.code, err: error }, 'recording could not be fetched');
    }
  }

  private async archive(
    recordingSid: string,
    keys: ArchiveKeys,
    signal: AbortSignal,
  ): Promise<ArchivedRecording> {
    const { api, policy, settings, store } = this.deps;
    const download = await openDownload({
      url: api.dualChannelWavUrl(recordingSid),
      authorization: api.authorization,
      policy,
      limits: settings.limits,
      signal,
    });
    try {
      return await archiveRecording({
        body: download.body,
        contentLength: download.contentLength,
        maxBytes: settings.limits.maxBytes,
        store,
        keys,
        stallMs: settings.limits.timeoutMs,
      });
    } finally {
      download.abort();
    }
  }

  /** What the store holds must be what was sent, before the row says `stored`. */
  private async verifyStored(archived: ArchivedRecording): Promise<void> {
    for (const object of archived.objects) {
      const info = await this.deps.store.stat(object.key);
      if (info?.size !== object.bytes) {
        throw new Error(
          `stored ${object.key} is ${info ? `${info.size} bytes` : 'missing'}, ${object.bytes} were uploaded`,
        );
      }
    }
  }

  /** Steps after `stored`, each skipped once recorded: events, then (optionally) deletion at Twilio. */
  private async finish(stored: RecordingRow, owner: string, signal: AbortSignal): Promise<void> {
    const { repository, settings, js, subjects, api, logger, audioRedaction } = this.deps;
    if (signal.aborted) throw whyStopped(signal);
    let row = stored;
    if (audioRedaction) {
      // Spans recorded before the objects were (re)stored: normally none, since recording transcripts are made
      // from these files, but a fetch repeated after a failure stores them anew.
      const rewritten = await applyRecordingRedactions(
        { ...this.deps, audioRedaction },
        row.recordingSid,
        owner,
        signal,
      );
      if (rewritten > 0) row = (await repository.get(row.recordingSid)) ?? row;
    }
    if (!row.eventsPublishedAt) {
      const at = (row.storedAt ?? new Date()).toISOString();
      const durationMs = row.durationMs ?? 0;
      const stored = recordingEvents.stored({
        callSid: row.callSid,
        at,
        recordingSid: row.recordingSid,
        durationMs,
        channels: row.channels ?? 2,
        objects: row.objects.map(({ role, key, bytes, sha256, channel, durationMs }) => ({
          role,
          key,
          bytes,
          sha256,
          channel,
          durationMs,
        })),
      });
      await publishEvent(js, subjects.recording(row.callSid, 'stored'), stored, `${row.recordingSid}:stored`);
      for (const object of row.objects) {
        if (object.channel === null) continue;
        const job = internalEvents.transcriptionJob({
          callSid: row.callSid,
          speaker: object.role,
          recordingSid: row.recordingSid,
          objectKey: object.key,
          sampleRate: row.sampleRate ?? 8000,
          durationMs,
        });
        await publishEvent(
          js,
          subjects.transcribe(row.callSid, object.role),
          job,
          `${row.recordingSid}:${object.role}`,
        );
      }
      await repository.markEventsPublished(row.recordingSid, owner);
    }
    if (settings.deleteAfterStore && !row.twilioDeletedAt) {
      await deleteRecordingAtTwilio(api, row.recordingSid, settings.limits.timeoutMs);
      await repository.markDeletedAtTwilio(row.recordingSid, owner);
      logger.info({ recordingSid: row.recordingSid, callSid: row.callSid }, 'recording deleted at twilio');
    }
  }
}

/** Why work under `signal` stopped: the delivery lost its lease, or the service is shutting down. */
function whyStopped(signal: AbortSignal, cause?: unknown): Error {
  return signal.reason instanceof RecordingLeaseLostError ? signal.reason : new ShuttingDownError(cause);
}
