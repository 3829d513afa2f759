import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { CalltxError, type Subjects } from '@calltx/events';

/**
 * Why a message was given up: it can't be read, it failed for good, it ran out of deliveries, or its work queue
 * kept stranding it (stranded.ts).
 */
export type DeadLetterReason = 'invalid' | 'failed' | 'max-deliveries' | 'stranded';

/** Headers a dead letter carries besides the original message's own (its body is the original, unchanged). */
export const DEAD_LETTER_HEADERS = {
  reason: 'Calltx-Dead-Reason',
  error: 'Calltx-Dead-Error',
  consumer: 'Calltx-Dead-Consumer',
  deliveries: 'Calltx-Dead-Deliveries',
  subject: 'Calltx-Original-Subject',
  stream: 'Calltx-Original-Stream',
  seq: 'Calltx-Original-Seq',
  msgId: 'Calltx-Original-Msg-Id',
} as const;

/** Header values are one line; an error message only needs to say what went wrong. */
const MAX_ERROR_CHARS = 512;
const oneLine = (text: string) => text.replace(/[\r\n\0]+/g, ' ').slice(0, MAX_ERROR_CHARS);

export class DeadLetterError extends CalltxError {}

/** A message given up on, as a consumer received it or as read from its stream. */
export interface LetterSource {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  stream: string;
  seq: number;
  deliveries: number;
}

/**
 * Copies messages a consumer gives up on into the DEADLETTER stream, with why and where they came from, before
 * the consumer terminates them. The copy's Nats-Msg-Id is the original's stream and sequence, so a crash between
 * copy and term leaves one dead letter, not two.
 */
export class DeadLetters {
  constructor(
    private readonly js: JetStreamClient,
    private readonly subjects: Subjects,
  ) {}

  /** Resolves once the DEADLETTER stream has stored the copy; throws a retryable DeadLetterError otherwise. */
  async keep(
    msg: JsMsg | LetterSource,
    details: { consumer: string; reason: DeadLetterReason; error: unknown },
  ): Promise<void> {
    const source: LetterSource =
      'info' in msg
        ? {
            subject: msg.subject,
            data: msg.data,
            headers: msg.headers,
            stream: msg.info.stream,
            seq: msg.seq,
            deliveries: msg.info.deliveryCount,
          }
        : msg;
    const parsed = this.subjects.parse(source.subject);
    if (parsed === null || parsed.family === 'deadletter')
      throw new DeadLetterError(`no dead-letter subject for ${source.subject}`);
    const h = natsHeaders();
    for (const [key, values] of source.headers ?? []) {
      if (key.startsWith('Nats-')) continue;
      for (const value of values) h.append(key, value);
    }
    const originalId = source.headers?.get('Nats-Msg-Id');
    if (originalId) h.set(DEAD_LETTER_HEADERS.msgId, originalId);
    const message = details.error instanceof Error ? details.error.message : String(details.error);
    h.set(DEAD_LETTER_HEADERS.reason, details.reason);
    h.set(DEAD_LETTER_HEADERS.error, oneLine(message) || '(no message)');
    h.set(DEAD_LETTER_HEADERS.consumer, details.consumer);
    h.set(DEAD_LETTER_HEADERS.deliveries, String(source.deliveries));
    h.set(DEAD_LETTER_HEADERS.subject, source.subject);
    h.set(DEAD_LETTER_HEADERS.stream, source.stream);
    h.set(DEAD_LETTER_HEADERS.seq, String(source.seq));
    try {
      await this.js.publish(this.subjects.deadLetter(parsed.callSid, parsed.family), source.data, {
        headers: h,
        msgID: `${source.stream}:${source.seq}`,
      });
    } catch (cause) {
      throw new DeadLetterError(`dead letter for ${source.subject} not stored`, { cause, retryable: true });
    }
  }
}

export interface ReplayedLetter {
  seq: number;
  subject: string;
  reason: string;
  consumer: string;
}

export interface ReplayOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  /** A dead-letter subject or wildcard (e.g. `deadletter.v1.*.calls`); every dead letter by default. */
  filterSubject?: string;
  /** Only the dead letters of this consumer. */
  consumer?: string;
  /** List what would be replayed, change nothing. */
  dryRun?: boolean;
}

/**
 * Republishes dead letters to their original subject (a fresh Nats-Msg-Id, so the original's duplicate window
 * doesn't swallow them; replaying the same letter twice is still deduplicated) and deletes each once stored.
 * Only letters present when the replay starts are visited: one that fails again comes back as a new letter.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayedLetter[]> {
  const { js, jsm, subjects } = options;
  const stream = subjects.streamName('deadletter');
  const { state } = await jsm.streams.info(stream);
  const replayed: ReplayedLetter[] = [];
  if (state.messages === 0) return replayed;
  const reader = await js.consumers.get(stream, {
    filter_subjects: options.filterSubject ?? subjects.all('deadletter'),
    deliver_policy: DeliverPolicy.All,
  });
  for (;;) {
    const letter = await reader.next({ expires: 2_000 });
    if (!letter || letter.seq > state.last_seq) break;
    const visited = await replayOne(letter, options);
    if (visited) replayed.push(visited);
    if (letter.info.pending === 0) break;
  }
  await reader.delete().catch(() => undefined);
  return replayed;
}

async function replayOne(letter: JsMsg, options: ReplayOptions): Promise<ReplayedLetter | undefined> {
  const h = letter.headers;
  const subject = h?.get(DEAD_LETTER_HEADERS.subject);
  const consumer = h?.get(DEAD_LETTER_HEADERS.consumer) ?? '';
  if (!h || !subject || (options.consumer !== undefined && consumer !== options.consumer)) return undefined;
  const visited = { seq: letter.seq, subject, reason: h.get(DEAD_LETTER_HEADERS.reason), consumer };
  if (options.dryRun) return visited;
  const stream = options.subjects.streamName('deadletter');
  await options.js.publish(subject, letter.data, {
    headers: originalHeaders(h),
    msgID: `${stream}:${letter.seq}:replay`,
  });
  await options.jsm.streams.deleteMessage(stream, letter.seq, false);
  return visited;
}

function originalHeaders(letter: MsgHdrs): MsgHdrs {
  const deadLetterKeys = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  const h = natsHeaders();
  for (const [key, values] of letter) {
    if (key.startsWith('Nats-') || deadLetterKeys.has(key)) continue;
    for (const value of values) h.append(key, value);
  }
  return h;
}
