import {
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { DeadLetters } from './dead-letters.js';

/** Header counting how often a stranded message was put back on its work queue. */
export const REQUEUES_HEADER = 'Calltx-Requeues';

/** What to do with a message its work queue stranded: put it back, or (worthless once late) delete it. */
export type StrandedAction = 'requeue' | 'drop';

export interface WorkQueueConsumer {
  stream: string;
  name: string;
  filterSubject: string;
  whenStranded: StrandedAction;
}

export interface StrandedMessagesOptions {
  jsm: JetStreamManager;
  js: JetStreamClient;
  deadLetters: DeadLetters;
  logger: Logger;
  /** A message is acted on only when it is still there this long after it was first seen stranded. */
  confirmMs: number;
  /** Requeues of one message before it is dead-lettered instead (a message that kills whoever handles it). */
  maxRequeues: number;
  /** Called once per message acted on: requeued, dropped or dead-lettered. */
  onAction: (consumer: string, outcome: 'requeued' | 'dropped' | 'dead-lettered') => void;
}

/** At most this many messages are read per consumer and look, so a large backlog costs one bounded pass. */
const MAX_PER_LOOK = 100;

/**
 * Finds and frees messages a work-queue stream holds that its consumer will never deliver again.
 *
 * A work-queue stream removes a message when its consumer acks it. A message whose every delivery went to a
 * process that died (or was lost with a consumer leader), up to the consumer's `max_deliver`, is given up by the
 * consumer without being acked: its ack floor moves past it and the stream keeps it, forever, with no error
 * anywhere (NATS 2.9 and later; docs/reliability.md, "Stranded messages"). Such a message lies at or below the
 * consumer's ack floor, which no pending message does. Seen there twice, `confirmMs` apart (an ack just
 * processed removes its message a moment after the floor moves), it is put back on the same subject as a new
 * message (`requeue`, counted in `Calltx-Requeues`; the republish's Nats-Msg-Id names the stranded copy, so
 * replicas looking at once requeue it once), or deleted (`drop`); past `maxRequeues` it is dead-lettered.
 */
export class StrandedMessages {
  /** `<stream>:<seq>` → when first seen stranded. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: StrandedMessagesOptions) {}

  /** Looks below the consumer's ack floor (as `info`, just read, says) and acts on messages seen there before. */
  async check(consumer: WorkQueueConsumer, info: ConsumerInfo): Promise<void> {
    const floor = info.ack_floor.stream_seq;
    const now = Date.now();
    const stranded = await this.strandedBelow(consumer, floor);
    const prefix = `${consumer.stream}:`;
    const current = new Set(stranded.map((m) => `${prefix}${m.seq}`));
    for (const key of this.seen.keys())
      if (key.startsWith(prefix) && !current.has(key)) this.seen.delete(key);
    for (const message of stranded) {
      const key = `${prefix}${message.seq}`;
      const firstSeen = this.seen.get(key);
      if (firstSeen === undefined) {
        this.seen.set(key, now);
        continue;
      }
      if (now - firstSeen < this.options.confirmMs) continue;
      await this.free(consumer, message);
      this.seen.delete(key);
    }
  }

  private async strandedBelow(consumer: WorkQueueConsumer, floor: number): Promise<StoredMsg[]> {
    const { jsm } = this.options;
    const first = (await jsm.streams.info(consumer.stream)).state.first_seq;
    const found: StoredMsg[] = [];
    for (let seq = first; seq <= floor && found.length < MAX_PER_LOOK;) {
      // STREAM.MSG.GET takes next_by_subj since NATS 2.9; the client types it for direct gets only.
      const query = { seq, next_by_subj: consumer.filterSubject } as MsgRequest;
      const message = await jsm.streams.getMessage(consumer.stream, query).catch((error: unknown) => {
        if (isNoMessage(error)) return null;
        throw error;
      });
      if (message === null || message.seq > floor) break;
      found.push(message);
      seq = message.seq + 1;
    }
    return found;
  }

  private async free(consumer: WorkQueueConsumer, message: StoredMsg): Promise<void> {
    const { js, jsm, deadLetters, logger, onAction, maxRequeues } = this.options;
    const requeues = Number(message.header.get(REQUEUES_HEADER) || '0');
    const context = { consumer: consumer.name, stream: consumer.stream, seq: message.seq, requeues };
    let outcome: 'requeued' | 'dropped' | 'dead-lettered';
    if (consumer.whenStranded === 'drop') {
      outcome = 'dropped';
    } else if (requeues >= maxRequeues) {
      await deadLetters.keep(
        {
          subject: message.subject,
          data: message.data,
          headers: message.header,
          stream: consumer.stream,
          seq: message.seq,
          deliveries: 0,
        },
        { consumer: consumer.name, reason: 'stranded', error: `stranded again after ${requeues} requeues` },
      );
      outcome = 'dead-lettered';
    } else {
      const h = natsHeaders();
      for (const [key, values] of message.header) {
        if (key.startsWith('Nats-') || key === REQUEUES_HEADER) continue;
        for (const value of values) h.append(key, value);
      }
      h.set(REQUEUES_HEADER, String(requeues + 1));
      await js.publish(message.subject, message.data, {
        headers: h,
        msgID: `requeue:${consumer.stream}:${message.seq}`,
      });
      outcome = 'requeued';
    }
    // Deleted last: a crash before this leaves the stranded copy for the next look (the requeue deduplicated).
    await jsm.streams.deleteMessage(consumer.stream, message.seq, false).catch(async (error: unknown) => {
      // Already gone (another replica freed it first) is what was wanted.
      const still = await jsm.streams
        .getMessage(consumer.stream, { seq: message.seq })
        .catch((e: unknown) => {
          if (isNoMessage(e)) return null;
          throw e;
        });
      if (still !== null) throw error;
    });
    onAction(consumer.name, outcome);
    logger.warn({ ...context, outcome }, 'stranded work-queue message freed');
  }
}

const isNoMessage = (error: unknown) =>
  error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound;
