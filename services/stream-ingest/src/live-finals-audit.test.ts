import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpeechSegment } from '@calltx/events/internal';
import { decodeEvent, transcriptEvents } from '@calltx/events';
import { publishEvent } from '@calltx/nats';
import { FRAME_BYTES } from './frames/frame.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import { framesOf, speechMulaw } from './testing/speech-audio.js';
import { SPEAKERS, SyntheticCall } from './testing/synthetic-call.js';

const SPEAKER = SPEAKERS.inbound;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silence = (ms: number) => Buffer.alloc((ms / 20) * FRAME_BYTES, 0xff);
// Due only when a test says so (it sets due_at), and not again within a test.
const AUDIT = { afterMs: 600_000, giveUpMs: 3_600_000 };

interface StoredFinal {
  seq: number;
  msgId: string | undefined;
  segment: SpeechSegment;
}

describe('live-finals audit', () => {
  let env: TestEnvironment;
  let a: InProcessIngest;
  let b: InProcessIngest | undefined;
  let audio: Buffer;

  beforeAll(async () => {
    env = await createTestEnvironment();
    a = await startInProcess(env, { liveFinalsAudit: AUDIT });
    audio = Buffer.concat([
      silence(1_000),
      speechMulaw('The compressor on unit four is leaking oil.'),
      silence(1_500),
      speechMulaw('Please bring a new gasket and the long wrench.'),
      silence(1_500),
      speechMulaw('Thank you, see you at noon.'),
      silence(2_000),
    ]);
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await env?.close();
  });

  /** The call's finals in AUDIO, read by sequence (a work queue: a consumer would take them away). */
  async function finalsInAudio(callSid: string): Promise<StoredFinal[]> {
    const stream = env.subjects.streamName('audio');
    const subject = env.subjects.audio(callSid, SPEAKER, 'final');
    const { state } = await env.jsm.streams.info(stream);
    const out: StoredFinal[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const msg = await env.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (msg?.subject !== subject) continue;
      out.push({ seq, msgId: msg.header?.get('Nats-Msg-Id'), segment: decodeEvent(SpeechSegment, msg.data) });
    }
    return out;
  }

  /** A call with three utterances, played and finalized; its finals, each recorded. */
  async function finalizedCall(): Promise<{ callSid: string; finals: StoredFinal[] }> {
    const call = new SyntheticCall(env.js, env.subjects, ['inbound']);
    await call.start();
    const frames = framesOf(audio, 0);
    for (let i = 0; i < frames.length; i += 10) await call.send('inbound', frames.slice(i, i + 10));
    await call.stop();
    const finals = await eventually(
      async () => {
        expect((await env.repo.get(call.callSid))?.ingestState).toBe('finalized');
        const found = await finalsInAudio(call.callSid);
        const { rows } = await env.pool.query(`SELECT 1 FROM call_live_finals WHERE call_sid = $1`, [
          call.callSid,
        ]);
        expect(found.length).toBeGreaterThanOrEqual(2);
        expect(rows.length).toBe(found.length);
        return found;
      },
      60_000,
      200,
    );
    return { callSid: call.callSid, finals: finals.sort((x, y) => x.segment.sequence - y.segment.sequence) };
  }

  /** A live transcript final of the segment, as the transcriber publishes it. */
  async function transcribe(segment: SpeechSegment): Promise<void> {
    const at = new Date().toISOString();
    await publishEvent(
      env.js,
      env.subjects.transcript(segment.callSid, segment.speaker, 'final'),
      transcriptEvents.final({
        final: true,
        callSid: segment.callSid,
        speaker: segment.speaker,
        segmentId: segment.segmentId,
        sequence: segment.sequence,
        startMs: segment.startMs,
        endMs: segment.endMs,
        text: 'transcribed',
        source: 'live',
        modelId: 'test',
        timing: { audioEndAt: at, publishedAt: at, latencyMs: 0 },
      }),
      `${segment.segmentId}:final`,
    );
  }

  /** What the transcriber never gets: the final removed from AUDIO before anyone consumed it. */
  const lose = (final: StoredFinal) =>
    env.jsm.streams.deleteMessage(env.subjects.streamName('audio'), final.seq);

  const dueNow = (callSid: string, extra = '') =>
    env.pool.query(`UPDATE call_live_finals_audits SET due_at = now()${extra} WHERE call_sid = $1`, [
      callSid,
    ]);

  async function auditRow(callSid: string) {
    const { rows } = await env.pool.query<{ attempts: number; outcome: string | null; due_in_ms: number }>(
      `SELECT attempts, outcome, (EXTRACT(EPOCH FROM due_at - now()) * 1000)::float8 AS due_in_ms
       FROM call_live_finals_audits WHERE call_sid = $1`,
      [callSid],
    );
    return rows[0];
  }

  const reissued = async () =>
    (await a.metric('calltx_ingest_live_finals_reissued_total')) +
    (b ? await b.metric('calltx_ingest_live_finals_reissued_total') : 0);

  it('reissues a lost final once the audit is due, the same segment cut again; nothing for a call transcribed in full', async () => {
    const [lossy, whole] = await Promise.all([finalizedCall(), finalizedCall()]);
    const lost = lossy.finals[1]!;
    await lose(lost);
    for (const final of lossy.finals) if (final !== lost) await transcribe(final.segment);
    for (const final of whole.finals) await transcribe(final.segment);
    expect(await auditRow(lossy.callSid)).toMatchObject({ attempts: 0, outcome: null });
    await dueNow(lossy.callSid);
    await dueNow(whole.callSid);

    const [again] = await eventually(async () => {
      const found = (await finalsInAudio(lossy.callSid)).filter(
        (f) => f.segment.segmentId === lost.segment.segmentId,
      );
      expect(found).toHaveLength(1);
      return found;
    }, 30_000);
    expect(again!.msgId).toBe(`${lost.segment.segmentId}:final:reissue:1`);
    expect(again!.segment.sequence).toBe(lost.segment.sequence);
    // Marked as a reissue, so a transcriber holding its transcript already publishes that again.
    expect(again!.segment.reissue).toBe(1);
    expect(lost.segment.reissue).toBeUndefined();
    const bounds = JSON.stringify({ got: again!.segment, want: { ...lost.segment, pcm: undefined } });
    expect(Math.abs(again!.segment.startMs - lost.segment.startMs), bounds).toBeLessThanOrEqual(100);
    expect(Math.abs(again!.segment.endMs - lost.segment.endMs), bounds).toBeLessThanOrEqual(100);

    await eventually(async () =>
      expect(await auditRow(whole.callSid)).toMatchObject({ outcome: 'complete' }),
    );
    // Checked again later (the transcriber may be behind); nothing published for the call transcribed in full.
    expect(await auditRow(lossy.callSid)).toMatchObject({ attempts: 1, outcome: null });
    expect((await auditRow(lossy.callSid))!.due_in_ms).toBeGreaterThan(60_000);
    expect(await finalsInAudio(whole.callSid)).toHaveLength(whole.finals.length);
    expect(await reissued()).toBe(1);

    // The transcriber gets the reissue: the next check finds every final transcribed.
    await transcribe(again!.segment);
    await dueNow(lossy.callSid);
    await eventually(async () =>
      expect(await auditRow(lossy.callSid)).toMatchObject({ attempts: 2, outcome: 'complete' }),
    );
    expect(await reissued()).toBe(1);
  }, 120_000);

  it('runs a due audit once with two replicas sweeping at once', async () => {
    b = await startInProcess(env, { liveFinalsAudit: AUDIT });
    const before = await reissued();
    const { callSid, finals } = await finalizedCall();
    await lose(finals[0]!);
    for (const final of finals.slice(1)) await transcribe(final.segment);
    await dueNow(callSid);

    await eventually(async () => expect(await reissued()).toBe(before + 1), 30_000);
    await sleep(2_000); // several sweeps of both
    expect(await reissued()).toBe(before + 1);
    const again = (await finalsInAudio(callSid)).filter(
      (f) => f.segment.segmentId === finals[0]!.segment.segmentId,
    );
    expect(again).toHaveLength(1);
    // The first final: cut again from the start of the speaker's path.
    expect(again[0]!.segment.sequence).toBe(0);
    expect(Math.abs(again[0]!.segment.startMs - finals[0]!.segment.startMs)).toBeLessThanOrEqual(100);
    expect(Math.abs(again[0]!.segment.endMs - finals[0]!.segment.endMs)).toBeLessThanOrEqual(100);
    expect(await auditRow(callSid)).toMatchObject({ attempts: 1, outcome: null });
  }, 120_000);

  it('takes over an audit whose holder died once its lease lapses', async () => {
    const before = await reissued();
    const { callSid, finals } = await finalizedCall();
    const lost = finals.at(-1)!;
    await lose(lost);
    for (const final of finals.slice(0, -1)) await transcribe(final.segment);
    // A replica claimed it (its first attempt) and was SIGKILLed: its lease runs 2 s more.
    await dueNow(
      callSid,
      `, attempts = 1, lease_owner = 'killed', lease_until = now() + interval '2 seconds'`,
    );
    await sleep(1_000);
    expect(await reissued()).toBe(before);
    const [again] = await eventually(async () => {
      const found = (await finalsInAudio(callSid)).filter(
        (f) => f.segment.segmentId === lost.segment.segmentId,
      );
      expect(found).toHaveLength(1);
      return found;
    }, 30_000);
    expect(again!.msgId).toBe(`${lost.segment.segmentId}:final:reissue:2`);
    expect(await reissued()).toBe(before + 1);
  }, 120_000);

  it('gives up on finals still missing at the give-up time, warned of and counted, without reissuing them', async () => {
    const before = await reissued();
    const { callSid, finals } = await finalizedCall();
    await dueNow(callSid, ', give_up_at = now()');
    await eventually(async () => expect(await auditRow(callSid)).toMatchObject({ outcome: 'gave-up' }));
    const warned = [...a.logs.lines, ...(b?.logs.lines ?? [])].find(
      (l) => l.msg === 'live finals missing' && l.callSid === callSid,
    );
    expect(warned).toMatchObject({ missing: finals.length, finals: finals.length });
    const missing =
      (await a.metric('calltx_ingest_live_finals_missing_total')) +
      (b ? await b.metric('calltx_ingest_live_finals_missing_total') : 0);
    expect(missing).toBe(finals.length);
    expect(await reissued()).toBe(before);
  }, 120_000);

  it('never audits an erased call', async () => {
    const before = await reissued();
    const { callSid, finals } = await finalizedCall();
    await lose(finals[0]!);
    // Erasure records the tombstone first, then deletes the call's rows (the audit's with them).
    await env.pool.query(`INSERT INTO ingest_erased_calls (call_sid) VALUES ($1)`, [callSid]);
    await dueNow(callSid);
    await sleep(2_000);
    expect(await auditRow(callSid)).toMatchObject({ attempts: 0, outcome: null });
    expect(await reissued()).toBe(before);
  }, 120_000);
});
