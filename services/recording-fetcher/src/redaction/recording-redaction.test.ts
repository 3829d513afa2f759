import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWavHeader, redactedSample, type RedactionFill } from '@calltx/audio';
import { transcriptEvents, type TranscriptRedaction } from '@calltx/events';
import { publishEvent } from '@calltx/nats';
import { sha256 } from '../testing/audio.js';
import {
  countBySubject,
  eventually,
  lastMessage,
  sid,
  startFetcher,
  startStack,
  type FetcherStack,
  type RunningFetcher,
} from '../testing/harness.js';

const workDir = mkdtempSync(join(tmpdir(), 'fetcher-redact-'));

/** A dual-channel 8 kHz recording of real speech (espeak-ng): the agent on channel 1, the technician on 2. */
function speechRecording(): Buffer {
  const agent = join(workDir, 'agent.wav');
  const technician = join(workDir, 'technician.wav');
  const dual = join(workDir, 'dual.wav');
  execFileSync('espeak-ng', [
    '-w',
    agent,
    'My card number is four five three nine, one four eight eight, zero three four three.',
  ]);
  execFileSync('espeak-ng', [
    '-w',
    technician,
    'Call me back on four one five, five five five, zero one three two, please.',
  ]);
  execFileSync('sox', ['-M', agent, technician, '-r', '8000', '-b', '16', '-e', 'signed-integer', dual]);
  return readFileSync(dual);
}

interface Channels {
  header: Buffer;
  frames: number;
  sample(frame: number, channel: number): number;
}

function channelsOf(wav: Buffer): Channels {
  const info = parseWavHeader(wav);
  return {
    header: wav.subarray(0, info.dataOffset),
    frames: info.dataBytes / info.blockAlign,
    sample: (frame, channel) => wav.readInt16LE(info.dataOffset + frame * info.blockAlign + 2 * channel),
  };
}

/**
 * Channel `channel` of `original` against `actual` (a file of `actualChannel`): exactly the fill inside the
 * spans, bit-identical outside. Returns how many covered samples held sound.
 */
function expectCovered(
  original: Buffer,
  channel: number,
  actual: Buffer,
  actualChannel: number,
  spans: readonly TranscriptRedaction[],
  fill: RedactionFill,
): number {
  const a = channelsOf(original);
  const b = channelsOf(actual);
  expect(b.frames).toBe(a.frames);
  const inSpan = new Uint8Array(a.frames);
  for (const { startMs, endMs } of spans) inSpan.fill(1, Math.floor(startMs * 8), Math.ceil(endMs * 8));
  let removed = 0;
  for (let f = 0; f < a.frames; f++) {
    const want = inSpan[f] ? redactedSample(fill, f, 8000) : a.sample(f, channel);
    if (b.sample(f, actualChannel) !== want)
      throw new Error(`frame ${f}: ${b.sample(f, actualChannel)}, want ${want}`);
    if (inSpan[f] && a.sample(f, channel) !== 0) removed += 1;
  }
  return removed;
}

/** The mono file a channel of `dual` splits into. */
function monoOf(dual: Buffer, channel: number): Buffer {
  const c = channelsOf(dual);
  const data = Buffer.alloc(c.frames * 2);
  for (let f = 0; f < c.frames; f++) data.writeInt16LE(c.sample(f, channel), 2 * f);
  return data;
}

const stacks: Array<{ stack: FetcherStack; fetcher: RunningFetcher }> = [];
afterAll(async () => {
  for (const { stack, fetcher } of stacks) {
    await fetcher.stop();
    await stack.close();
  }
  rmSync(workDir, { recursive: true, force: true });
});

let sequence = 0;
async function publishFinal(
  stack: FetcherStack,
  callSid: string,
  speaker: string,
  source: 'live' | 'recording',
  recordingSid: string,
  redactions: TranscriptRedaction[],
): Promise<void> {
  const n = sequence++;
  const segmentId = `${source === 'recording' ? recordingSid : callSid}:${speaker}:${n}`;
  const at = new Date().toISOString();
  await publishEvent(
    stack.js,
    stack.subjects.transcript(callSid, speaker, 'final'),
    transcriptEvents.final({
      final: true,
      callSid,
      speaker,
      segmentId,
      sequence: n,
      startMs: Math.min(...redactions.map((r) => r.startMs)),
      endMs: Math.max(...redactions.map((r) => r.endMs)),
      text: '[REDACTED]',
      source,
      modelId: 'test',
      timing: { audioEndAt: at, publishedAt: at, latencyMs: 0 },
      redactions,
    }),
    `${segmentId}:final`,
  );
}

describe.each(['silence', 'tone'] as const)('recording audio redaction (%s)', (fill) => {
  it('covers a speaker’s spans on its file and its channel of the dual file, before and after storing', async () => {
    const stack = await startStack();
    const fetcher = await startFetcher(stack, { AUDIO_REDACT: 'true', AUDIO_REDACT_FILL: fill });
    stacks.push({ stack, fetcher });
    const dual = speechRecording();
    expect(channelsOf(dual).frames).toBeGreaterThan(8000 * 4);
    const callSid = sid('CA');
    const recordingSid = sid('RE');
    const base = `calls/${callSid}/recordings/${recordingSid}`;
    stack.twilio.addRecording(recordingSid, dual, { callSid });

    // Before the recording is stored (a fetch repeated after a failure): recorded, applied by the archive. A
    // live final's spans (stream time) must change nothing here.
    const agentSpans = [
      { kind: 'card', startMs: 1_411, endMs: 2_633 },
      { kind: 'card', startMs: 2_901, endMs: 3_377 },
    ];
    await publishFinal(stack, callSid, 'agent', 'recording', recordingSid, agentSpans);
    await publishFinal(stack, callSid, 'technician', 'live', recordingSid, [
      { kind: 'phone', startMs: 500, endMs: 900 },
    ]);
    await eventually(async () =>
      expect((await stack.repository.redactions(recordingSid)).get('agent')).toHaveLength(2),
    );

    await stack.callback(callSid, recordingSid, 'completed', { durationSeconds: 5 });
    const row = await eventually(async () => {
      const found = await stack.row(recordingSid);
      expect(found?.eventsPublishedAt).toBeInstanceOf(Date);
      return found!;
    });
    const check = async (techSpans: TranscriptRedaction[]) => {
      const stored = await stack.store.getBuffer(`${base}/dual.wav`);
      expect(stored.length).toBe(dual.length);
      expect(Buffer.compare(channelsOf(stored).header, channelsOf(dual).header)).toBe(0);
      expect(expectCovered(dual, 0, stored, 0, agentSpans, fill)).toBeGreaterThan(800);
      const removedTech = expectCovered(dual, 1, stored, 1, techSpans, fill);
      if (techSpans.length > 0) expect(removedTech).toBeGreaterThan(800);
      const objects = (await stack.row(recordingSid))!.objects;
      expect(objects.find((o) => o.role === 'dual')).toMatchObject({
        bytes: stored.length,
        sha256: sha256(stored),
      });
      for (const [speaker, channel, spans] of [
        ['agent', 0, agentSpans],
        ['technician', 1, techSpans],
      ] as const) {
        const mono = await stack.store.getBuffer(`${base}/${speaker}.wav`);
        expect(Buffer.compare(mono.subarray(44), monoOf(stored, channel))).toBe(0);
        expectCovered(dual, channel, mono, 0, spans, fill);
        expect(objects.find((o) => o.role === speaker)).toMatchObject({
          bytes: mono.length,
          sha256: sha256(mono),
        });
      }
      return objects;
    };
    const first = await check([]);
    expect(row.objects).toEqual(first);
    // Applied before the announcement: `stored` carries the hashes of the redacted files.
    const storedEvent = await lastMessage(stack, 'recordings', stack.subjects.recording(callSid, 'stored'));
    expect((storedEvent.json.objects as Array<{ sha256: string }>).map((o) => o.sha256)).toEqual(
      first.map((o) => o.sha256),
    );

    // After: a technician span is applied at once; the agent's file is left as it was.
    const agentFile = await stack.store.getBuffer(`${base}/agent.wav`);
    const techSpans = [{ kind: 'phone', startMs: 1_203, endMs: 2_487 }];
    await publishFinal(stack, callSid, 'technician', 'recording', recordingSid, techSpans);
    await eventually(async () =>
      expect((await stack.repository.redactionsApplied(recordingSid)).get('technician')).toBe(1),
    );
    await eventually(async () =>
      expect((await stack.repository.redactionsApplied(recordingSid)).get('dual')).toBe(3),
    );
    await check(techSpans);
    expect(Buffer.compare(await stack.store.getBuffer(`${base}/agent.wav`), agentFile)).toBe(0);
  });
});

describe('a recording final that names no recording', () => {
  it('is dead-lettered rather than taken for a recording it is not', async () => {
    const stack = await startStack();
    const fetcher = await startFetcher(stack, { AUDIO_REDACT: 'true' });
    stacks.push({ stack, fetcher });
    const callSid = sid('CA');
    // A recording final whose segment id starts with the CallSid: its recording (and time base) is unknown.
    await publishFinal(stack, callSid, 'agent', 'recording', callSid, [
      { kind: 'card', startMs: 100, endMs: 900 },
    ]);
    await eventually(async () =>
      expect(
        await countBySubject(stack, 'deadletter', stack.subjects.deadLetter(callSid, 'transcripts')),
      ).toEqual({ [stack.subjects.deadLetter(callSid, 'transcripts')]: 1 }),
    );
    const { rows } = await stack.pool.query('SELECT * FROM recording_audio_redactions');
    expect(rows).toEqual([]);
  });
});
