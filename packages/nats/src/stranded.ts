import {
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
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
  /** Asks the consumer's leader to step down (`stepDownConsumerLeader` in production). */
  stepDown: (stream: string, consumer: string) => Promise<void>;
  /** Called once per message acted on (requeued, dropped, dead-lettered) and per leader asked to step down. */
  onAction: (consumer: string, outcome: StrandedOutcome) => void;
}

export type StrandedOutcome = 'requeued' | 'dropped' | 'dead-lettered' | 'leader-stepped-down';

/**
 * Asks a replicated consumer's leader to hand over to another replica (JetStream API
 * `CONSUMER.LEADER.STEPDOWN`, which nats.js 3 does not wrap).
 */
export async function stepDownConsumerLeader(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  timeoutMs = 5_000,
): Promise<void> {
  const reply = await nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${consumer}`, undefined, {
    timeout: timeoutMs,
  });
  const answer = reply.json<{ success?: boolean; error?: { description?: string } }>();
  if (!answer.success)
    throw new Error(`consumer leader step-down refused: ${answer.error?.description ?? 'no reason'}`);
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
 *
 * The other way a work queue withholds messages: a consumer leader whose own replica of the stream fell behind
 * (replicas of an R3 file stream drift apart after SIGKILLs on NATS 2.9) sees nothing to deliver while the stream
 * leader holds messages for it above the ack floor. Seen that way twice, `confirmMs` apart, the consumer's leader
 * is asked to step down, so a replica that has the messages takes over.
 */
export class StrandedMessages {
  /** `<stream>:<consumer>:<seq>` (and `leader:<stream>:<consumer>`) → when first seen stranded (or idle). */
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: StrandedMessagesOptions) {}

  /** Looks below the consumer's ack floor (as `info`, just read, says) and acts on messages seen there before. */
  async check(consumer: WorkQueueConsumer, info: ConsumerInfo): Promise<void> {
    const floor = info.ack_floor.stream_seq;
    const now = Date.now();
    await this.checkLeader(consumer, info, now);
    const stranded = await this.strandedBelow(consumer, floor);
    // Per consumer: consumers sharing a stream each forget only what they no longer see.
    const prefix = `${consumer.stream}:${consumer.name}:`;
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

  private async checkLeader(consumer: WorkQueueConsumer, info: ConsumerInfo, now: number): Promise<void> {
    const key = `leader:${consumer.stream}:${consumer.name}`;
    const idle = info.num_pending === 0 && info.num_ack_pending === 0;
    const waiting = idle ? await this.next(consumer, info.ack_floor.stream_seq + 1) : null;
    const firstSeen = this.seen.get(key);
    if (waiting === null) {
      this.seen.delete(key);
      return;
    }
    if (firstSeen === undefined) {
      this.seen.set(key, now);
      return;
    }
    if (now - firstSeen < this.options.confirmMs) return;
    this.seen.delete(key);
    await this.options.stepDown(consumer.stream, consumer.name);
    this.options.onAction(consumer.name, 'leader-stepped-down');
    this.options.logger.warn(
      { consumer: consumer.name, stream: consumer.stream, seq: waiting.seq, leader: info.cluster?.leader },
      'consumer saw nothing to deliver while its stream held messages for it: its leader was asked to step down',
    );
  }

  /** The first message of the consumer's subjects at or after `seq`, as the stream leader has it. */
  private async next(consumer: WorkQueueConsumer, seq: number): Promise<StoredMsg | null> {
    // STREAM.MSG.GET takes next_by_subj since NATS 2.9; the client types it for direct gets only.
    const query = { seq, next_by_subj: consumer.filterSubject } as MsgRequest;
    return this.options.jsm.streams.getMessage(consumer.stream, query).catch((error: unknown) => {
      if (isNoMessage(error)) return null;
      throw error;
    });
  }

  private async strandedBelow(consumer: WorkQueueConsumer, floor: number): Promise<StoredMsg[]> {
    const { jsm } = this.options;
    const first = (await jsm.streams.info(consumer.stream)).state.first_seq;
    const found: StoredMsg[] = [];
    for (let seq = first; seq <= floor && found.length < MAX_PER_LOOK;) {
      const message = await this.next(consumer, seq);
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
    let outcome: StrandedOutcome;
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
