import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PII_SCRIPTED_FIXTURE_DIR,
  readModelScript,
  scriptedUtterance,
  type ModelScript,
} from '@calltx/whisper/testing';
import {
  eventually,
  FAMILIES,
  sid,
  startStack,
  startTranscriber,
  type RunningTranscriber,
  type TranscriberStack,
  type TranscriptMessage,
} from './testing/harness.js';

/**
 * The bar of TRANSCRIPT_REDACT: personal data said in a call (the scripted model says a card number, a phone number
 * and an email, as digits and as words) reaches no row, object, stream message or log line; the tags and spans do.
 */

/** Every form of the personal data the scripted model says, as it says them and as digits. */
const CLEAR = [
  '4539 1488 0343 6467',
  '4539148803436467',
  '4539 1488',
  '0343 6467',
  '415 555 0132',
  '4155550132',
  '555 0132',
  'jane.doe',
  'example.com',
  'four one five',
  'double five',
  'oh one three two',
  'four five three nine',
  'six four six seven',
];

let stack: TranscriberStack;
let running: RunningTranscriber;
let script: ModelScript;

beforeAll(async () => {
  stack = await startStack();
  running = await startTranscriber(stack, {
    WHISPER_MODEL_DIR: PII_SCRIPTED_FIXTURE_DIR,
    WHISPER_LANGUAGE: 'en',
    TRANSCRIPT_REDACT: 'card,phone,email',
  });
  await running.transcriber.consuming;
  script = await readModelScript(PII_SCRIPTED_FIXTURE_DIR);
});
afterAll(async () => {
  await running?.stop();
  await stack?.close();
});

const toPcm = (samples: Float32Array) => Int16Array.from(samples, (s) => Math.round(s * 32767));

/** Everything the run left: rows of every table of the schema, objects, messages of every stream, log lines. */
async function everythingStored(): Promise<Array<{ where: string; text: string }>> {
  const found: Array<{ where: string; text: string }> = [];
  const { rows: tables } = await stack.pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`,
    [stack.pg.schema],
  );
  expect(tables.map((t) => t.table_name)).toContain('transcript_segments');
  for (const { table_name: table } of tables) {
    const { rows } = await stack.pool.query<{ row: string }>(
      `SELECT t::text AS row FROM "${stack.pg.schema}"."${table}" t`,
    );
    for (const { row } of rows) found.push({ where: `table ${table}`, text: row });
  }
  for await (const object of stack.store.list('')) {
    found.push({
      where: `object ${object.key}`,
      text: (await stack.store.getBuffer(object.key)).toString('utf8'),
    });
  }
  for (const family of FAMILIES) {
    const stream = stack.subjects.streamName(family);
    const info = await stack.jsm.streams.info(stream);
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const msg = await stack.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!msg) continue;
      const headers = msg.header ? [...msg.header.keys()].map((k) => `${k}: ${msg.header!.get(k)}`) : [];
      found.push({ where: `${stream} #${seq}`, text: [msg.subject, ...headers, msg.string()].join('\n') });
    }
  }
  for (const line of running.logs.lines) found.push({ where: 'log', text: JSON.stringify(line) });
  return found;
}

describe('transcript redaction', () => {
  it('keeps a card number, a phone number and an email out of every row, message and log line', async () => {
    const said = script.scripts.map((s) => s.text).join('\n');
    // The scan means something only if the model really says them.
    for (const clear of ['4539 1488 0343 6467', '415 555 0132', 'jane.doe at example.com', 'four one five'])
      expect(said).toContain(clear);

    const callSid = sid('CA');
    const speaker = 'customer';
    let startMs = 0;
    const utterance = (n: number, seconds: number, final: boolean) => {
      const segment = {
        callSid,
        speaker,
        segmentId: `${callSid}:${speaker}:0:${n}`,
        sequence: n,
        final,
        startMs,
        pcm: toPcm(scriptedUtterance(seconds * script.bucketSeconds)),
      };
      return segment;
    };
    const transcripts = async (kind: 'partial' | 'final') =>
      (await stack.transcripts()).filter((m) => m.json.callSid === callSid && m.subject.endsWith(`.${kind}`));

    // A partial cut while the card number is being said (script 2 ends in "4539 1488"), then its final (script 3);
    // the phone number, the email, the phone number and the card number said as words (scripts 4 to 7).
    await stack.publishSegment(utterance(0, 2.5, false));
    await eventually(async () => expect(await transcripts('partial')).toHaveLength(1), 30_000);
    const plan = [3, 4, 5, 6, 7];
    for (const [n, s] of plan.entries()) {
      await stack.publishSegment(utterance(n, s + 0.5, true));
      startMs += (s + 2) * 1000;
    }
    // A partial of the card said as words, too.
    await stack.publishSegment(utterance(plan.length, 7.5, false));
    const finals = await eventually(async () => {
      const found = await transcripts('final');
      expect(found).toHaveLength(plan.length);
      expect(await transcripts('partial')).toHaveLength(2);
      return found.sort((a, b) => (a.json.sequence as number) - (b.json.sequence as number));
    }, 60_000);

    const expected = [
      { text: 'the card is [CARD].', kind: 'card' },
      { text: 'the number is [PHONE].', kind: 'phone' },
      { text: 'the email is [EMAIL].', kind: 'email' },
      { text: "and that's [PHONE].", kind: 'phone' },
      { text: 'and the card is [CARD].', kind: 'card' },
    ];
    for (const [i, message] of finals.entries()) {
      const final = message.json;
      expect(final).toMatchObject({ text: expected[i]!.text, segments: [{ text: expected[i]!.text }] });
      const words = final.words as Array<{ text: string; startMs: number; endMs: number }>;
      expect(words.map((w) => w.text).join('')).toBe(` ${expected[i]!.text}`);
      const tagWord = words.find((w) => w.text.includes('['))!;
      // One span, timed by the words it replaced: the tag's word covers them.
      expect(final.redactions).toEqual([
        { kind: expected[i]!.kind, startMs: tagWord.startMs, endMs: tagWord.endMs },
      ]);
      expect(tagWord.endMs).toBeGreaterThan(tagWord.startMs);
      const stored = await stack.transcriptStore.find({
        callSid,
        speaker,
        segmentId: final.segmentId as string,
        source: 'live',
      });
      expect(stored).toMatchObject({ text: expected[i]!.text, redactions: final.redactions });
    }
    const partials = (await transcripts('partial')).map((m: TranscriptMessage) => m.json);
    for (const partial of partials) {
      expect(partial.text as string).toMatch(/\[(CARD|PHONE)\]/);
      expect(partial.redactions).toHaveLength(1);
    }

    const everything = await everythingStored();
    // The scan reads what it should: the tags are there, in the rows and in the stream.
    for (const where of ['table transcript_segments', stack.subjects.streamName('transcripts')])
      expect(everything.some((item) => item.where.startsWith(where) && item.text.includes('[CARD]'))).toBe(
        true,
      );
    const leaks = everything.flatMap(({ where, text }) =>
      CLEAR.filter((clear) => text.toLowerCase().includes(clear)).map((clear) => `${where}: ${clear}`),
    );
    expect(leaks).toEqual([]);
  });
});
