import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { CalltxError, TranscriptEvent, decodeEvent, type Subjects } from '@calltx/events';

/** What identifies a final transcript in TRANSCRIPTS. */
export interface StoredFinalRef {
  speaker: string;
  segmentId: string;
  sequence: number;
  source: 'live' | 'recording';
}

const READ_TIMEOUT_MS = 5_000;
/**
 * TRANSCRIPTS is read from this long before the time given: the finals come after it, but the clock it was taken
 * from (a database's, a gateway's) and the NATS servers' may differ.
 */
const CLOCK_SKEW_MS = 10 * 60_000;

/**
 * The call's transcript finals stored in TRANSCRIPTS since about `notBefore` (a time none of them precedes), read
 * to the last one stored, through an ephemeral ordered read on the call's final subject (starting at a time spares
 * the server a walk through a month of other calls' transcripts). For the checks of a final that may be lost or
 * late: the live-finals audit, and the transcriber before it republishes a reissued final.
 */
export async function readTranscriptFinals(
  js: JetStreamClient,
  subjects: Subjects,
  callSid: string,
  notBefore: Date,
): Promise<StoredFinalRef[]> {
  const found: StoredFinalRef[] = [];
  const consumer = await js.consumers.get(subjects.streamName('transcripts'), {
    filter_subjects: subjects.callTranscripts(callSid, 'final'),
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(notBefore.getTime() - CLOCK_SKEW_MS).toISOString(),
  });
  try {
    if ((await consumer.info()).num_pending === 0) return found;
    for (;;) {
      const msg = await consumer.next({ expires: READ_TIMEOUT_MS });
      if (!msg)
        throw new CalltxError(`transcript finals of ${callSid} not read to the end`, { retryable: true });
      try {
        const event = decodeEvent(TranscriptEvent, msg.data, `message on ${msg.subject}`);
        if (event.final) {
          const { speaker, segmentId, sequence, source } = event;
          found.push({ speaker, segmentId, sequence, source });
        }
      } catch {
        // Not a transcript final this version reads: it identifies nothing.
      }
      if (msg.info.pending === 0) return found;
    }
  } finally {
    // Its server would drop it once idle anyway; reads every audit sweep should not leave them behind meanwhile.
    await consumer.delete().catch(() => undefined);
  }
}
