import type { Family } from './subjects.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface FamilyPolicy {
  maxAgeMs: number;
  /** Deduplication window for `Nats-Msg-Id`: must outlast the publisher's retries (Twilio retries for minutes). */
  duplicateWindowMs: number;
  description: string;
  /** Work queues drop a message once acknowledged: jobs, not history. */
  workQueue?: boolean;
}

/** Retention per family: media is raw input consumed within minutes; events are kept for replay. */
export const STREAM_POLICIES: Record<Family, FamilyPolicy> = {
  calls: { maxAgeMs: 30 * DAY, duplicateWindowMs: HOUR, description: 'Call lifecycle events (public, v1)' },
  media: {
    maxAgeMs: 3 * DAY,
    duplicateWindowMs: 10 * MINUTE,
    description: 'Raw mu-law frames from Twilio Media Streams',
  },
  recordings: {
    maxAgeMs: 30 * DAY,
    duplicateWindowMs: 6 * HOUR,
    description: 'Recording callbacks and results (public, v1)',
  },
  transcripts: { maxAgeMs: 30 * DAY, duplicateWindowMs: HOUR, description: 'Transcript events (public, v1)' },
  audio: {
    maxAgeMs: HOUR,
    duplicateWindowMs: 10 * MINUTE,
    description: 'Internal: live 16 kHz speech segments for the transcriber',
    workQueue: true,
  },
  transcribe: {
    maxAgeMs: 7 * DAY,
    duplicateWindowMs: HOUR,
    description: 'Internal: post-call transcription jobs',
    workQueue: true,
  },
  parties: {
    // As long as CALLS, so a read-model rebuild restores the clear parties of every call it restores.
    maxAgeMs: 30 * DAY,
    duplicateWindowMs: HOUR,
    description: 'Internal: call parties in clear (STORE_CALLER_NUMBERS only), for stream-ingest and the api',
  },
  deadletter: {
    maxAgeMs: 30 * DAY,
    // One copy per original message (its stream and sequence), whatever the crashes between copy and term.
    duplicateWindowMs: HOUR,
    description: 'Messages consumers gave up on, with the reason (replay: pnpm deadletter:replay)',
  },
  erasure: {
    maxAgeMs: 30 * DAY,
    // The api's sweeper re-publishes a request under a new id (its attempt number), so an hour is enough.
    duplicateWindowMs: HOUR,
    description: "Internal: call erasure requests and each service's confirmation (CallSid only)",
  },
};
