import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallEvent, decodeEvent } from '@calltx/events';
import { type ObjectStore } from '@calltx/storage';
import { encodeMediaFramesV2, encodeMediaFramesV3 } from '@calltx/events/internal';
import { isMediaConsumerOf } from './calls/media-consumer.js';
import { writeCallWavs } from './finalize/call-wavs.js';
import { partKey, streamPrefix } from './spool/object-keys.js';
import { encodePart } from './spool/part-format.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import {
  AGENT,
  SPEAKERS,
  SyntheticCall,
  TECHNICIAN,
  TECHNICIAN_NUMBER,
  framePayload,
  type MediaFormat,
} from './testing/synthetic-call.js';
import { expectExactWavs } from './testing/wav-assert.js';

async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of store.list(prefix)) keys.push(key);
  return keys.sort();
}

describe('stream-ingest', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env, { timing: { idleFinalizeMs: 3_000, endedGraceMs: 1_000 } });
  });

  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  const finalized = (callSid: string, timeoutMs = 20_000) =>
    eventually(async () => expect((await env.repo.get(callSid))?.ingestState).toBe('finalized'), timeoutMs);

  it('stores exact 8 kHz and 16 kHz WAVs per speaker when the stream stops, and announces them', async () => {
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    await call.stream(0, 4_000, 1);
    await call.stream(4_000, 10_000, 7);
    await call.stop();
    await finalized(call.callSid);

    const files = await env.repo.files(call.callSid);
    expect(files).toHaveLength(4);
    for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);

    const stored = await env.lastCallEvent(env.subjects.call(call.callSid, 'audio-stored'));
    expect(stored?.header?.get('Nats-Msg-Id')).toBe(`${call.callSid}:audio-stored`);
    const event = decodeEvent(CallEvent, stored!.data);
    if (event.type !== 'call.audio-stored.v1') throw new Error(`unexpected ${event.type}`);
    expect(event.files.sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      files
        .map(({ speaker, sampleRate, key, bytes, durationMs, sha256 }) => ({
          speaker,
          sampleRate,
          key,
          bytes,
          durationMs,
          sha256,
        }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    );
    expect(event.gapFilledMs).toEqual({ agent: 0, technician: 0 });

    const { rows } = await env.pool.query('SELECT * FROM calls WHERE call_sid = $1', [call.callSid]);
    expect(rows[0]).toMatchObject({
      agent_party: AGENT,
      technician_party: null,
      technician_number_hash: TECHNICIAN_NUMBER.hash,
      technician_number_last2: '23',
      agent_number_hash: null,
      speakers: SPEAKERS,
      tracks: ['inbound', 'outbound'],
      ingest_state: 'finalized',
      finalize_trigger: 'stopped',
      duration_ms: 10_000,
      frames_expected: { inbound: 500, outbound: 500 },
    });
    // Nothing is left behind: no parts, no per-call consumer, no claim.
    expect(await keysUnder(env.store, streamPrefix(call.callSid))).toEqual(files.map((f) => f.key).sort());
    const consumers = [];
    for await (const c of env.jsm.consumers.list(env.subjects.streamName('media'))) consumers.push(c.name);
    expect(consumers.filter((name) => isMediaConsumerOf(name, call.callSid))).toEqual([]);
    expect(await ingest.claims.isClaimed(call.callSid)).toBe(false);
    expect(
      await ingest.metric('calltx_ingest_calls_finalized_total', { trigger: 'stopped' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('reads media.frames.v1, v2 and v3 alike (a rolling upgrade): the same exact WAVs from each, or all mixed', async () => {
    const send = async (call: SyntheticCall, formats: MediaFormat[]) => {
      await call.start();
      for (let ts = 0, i = 0; ts < 6_000; ts += 100, i += 1) {
        const format = formats[i % formats.length]!;
        const timestamps = [0, 20, 40, 60, 80].map((d) => ts + d);
        if (format === 'v3')
          await call.sendCall({
            inbound: call.framesAt('inbound', timestamps),
            outbound: call.framesAt('outbound', timestamps),
          });
        else
          for (const track of call.tracks)
            await call.send(track, call.framesAt(track, timestamps), { format });
      }
      await call.stop();
    };
    const v1 = new SyntheticCall(env.js, env.subjects);
    const v2 = new SyntheticCall(env.js, env.subjects);
    const v3 = new SyntheticCall(env.js, env.subjects);
    const mixed = new SyntheticCall(env.js, env.subjects);
    await send(v1, ['v1']);
    await send(v2, ['v2']);
    await send(v3, ['v3']);
    await send(mixed, ['v1', 'v3', 'v2']);
    const invalidBefore = await ingest.metric('calltx_ingest_rejected_frames_total', {
      reason: 'invalid-message',
    });
    for (const call of [v1, v2, v3, mixed]) {
      await finalized(call.callSid);
      const files = await env.repo.files(call.callSid);
      expect(files).toHaveLength(4);
      for (const track of call.tracks) await expectExactWavs(env.store, call, track, files, 6_000);
    }
    expect(await ingest.metric('calltx_ingest_rejected_frames_total', { reason: 'invalid-message' })).toBe(
      invalidBefore,
    );
  });

  it('places frames by timestamp: gaps, a late start, reordering and duplicates; records the filled ms', async () => {
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    const gapsBefore = await ingest.metric('calltx_ingest_gap_filled_ms_total', { speaker: 'agent' });
    const range = (from: number, to: number) =>
      Array.from({ length: (to - from) / 20 }, (_, i) => from + 20 * i);
    // agent: 0–2 s, a 1 s hole, 3–5 s sent backwards in messages of 10, 3.0–3.2 s again, one frame 10 ms off the grid.
    await call.send('inbound', call.framesAt('inbound', range(0, 2_000)));
    for (let ts = 4_800; ts >= 3_000; ts -= 200)
      await call.send('inbound', call.framesAt('inbound', range(ts, ts + 200).reverse()));
    await call.send('inbound', call.framesAt('inbound', range(3_000, 3_200)));
    await call.send('inbound', call.framesAt('inbound', [5_010]));
    // technician: starts 500 ms late, ends at 4 s (the file still runs to the call's end).
    await call.send('outbound', call.framesAt('outbound', range(500, 4_000)));
    // The gateway lost two agent frames at the very end: the files run to the announced last timestamp.
    const lastTimestampMs = { inbound: 5_060, outbound: 3_980 };
    await call.stop({ lost: { inbound: 2, outbound: 0 }, lastTimestampMs });
    await finalized(call.callSid);

    const endMs = 5_080;
    const files = await env.repo.files(call.callSid);
    for (const track of call.tracks) await expectExactWavs(env.store, call, track, files, endMs);
    const agentGap = call.expectedGapMs('inbound', endMs);
    const technicianGap = call.expectedGapMs('outbound', endMs);
    expect(agentGap).toBe(1_000 + 10 + 50);
    expect(technicianGap).toBe(500 + 1_080);
    expect(files.filter((f) => f.speaker === 'agent').map((f) => f.gapFilledMs)).toEqual([
      agentGap,
      agentGap,
    ]);
    expect(files.filter((f) => f.speaker === 'technician').map((f) => f.gapFilledMs)).toEqual([
      technicianGap,
      technicianGap,
    ]);
    const { rows } = await env.pool.query(
      'SELECT gap_filled_ms, duration_ms FROM calls WHERE call_sid = $1',
      [call.callSid],
    );
    expect(rows[0]).toEqual({
      gap_filled_ms: { agent: agentGap, technician: technicianGap },
      duration_ms: endMs,
    });
    expect(
      (await ingest.metric('calltx_ingest_gap_filled_ms_total', { speaker: 'agent' })) - gapsBefore,
    ).toBe(agentGap);
    const stored = await env.lastCallEvent(env.subjects.call(call.callSid, 'audio-stored'));
    expect(JSON.parse(new TextDecoder().decode(stored!.data)).gapFilledMs).toEqual({
      agent: agentGap,
      technician: technicianGap,
    });
  });

  it('finalizes a call that ended without a stream stop, and one that went silent', async () => {
    const ended = new SyntheticCall(env.js, env.subjects);
    const silent = new SyntheticCall(env.js, env.subjects, ['inbound']);
    await Promise.all([ended.start(), silent.start()]);
    await ended.stream(0, 3_000, 5);
    await silent.stream(0, 2_000, 5);
    await ended.end();
    await Promise.all([finalized(ended.callSid), finalized(silent.callSid)]);

    for (const [call, trigger] of [
      [ended, 'ended'],
      [silent, 'idle'],
    ] as const) {
      const files = await env.repo.files(call.callSid);
      expect(files).toHaveLength(2 * call.tracks.length);
      for (const track of call.tracks) await expectExactWavs(env.store, call, track, files);
      const { rows } = await env.pool.query('SELECT finalize_trigger FROM calls WHERE call_sid = $1', [
        call.callSid,
      ]);
      expect(rows[0].finalize_trigger).toBe(trigger);
    }
  });

  it('counts and logs bad input, keeps consuming, and keeps it out of the files', async () => {
    const reasons = [
      'invalid-base64',
      'payload-length',
      'unknown-track',
      'invalid-message',
      'timestamp-out-of-range',
      'call-finished',
    ];
    const before = Object.fromEntries(
      await Promise.all(
        reasons.map(async (reason) => [
          reason,
          await ingest.metric('calltx_ingest_rejected_frames_total', { reason }),
        ]),
      ),
    );
    const call = new SyntheticCall(env.js, env.subjects);
    await call.start();
    await call.stream(0, 1_000, 5);
    const good = call.framesAt('inbound', [1_000, 1_020]);
    const bad = [
      { timestampMs: 1_040, payload: '@@@@not*base64==' },
      { timestampMs: 1_060, payload: 'QUJD' + '='.repeat(3) },
      { timestampMs: 1_080, payload: Buffer.alloc(80, 0x55).toString('base64') },
      { timestampMs: 1_100, payload: Buffer.alloc(161, 0x55).toString('base64') },
      { timestampMs: 25 * 60 * 60 * 1000, payload: good[0]!.payload },
    ];
    await call.send('inbound', bad.slice(0, 2), { valid: false });
    // A valid frame among bad ones is kept (and sent again below: a duplicate).
    await call.send('inbound', [good[0]!, ...bad.slice(2)], { valid: false });
    await call.send('inbound', good);
    const sideways = env.subjects.all('media', call.callSid).replace(/>$/, 'sideways');
    await call.send('inbound', call.framesAt('inbound', [1_040, 1_060]), { valid: false, subject: sideways });
    await env.js.publish(
      env.subjects.media(call.callSid, 'outbound'),
      new TextEncoder().encode('{"not": "frames"'),
    );
    await env.js.publish(
      env.subjects.media(call.callSid, 'outbound'),
      new TextEncoder().encode(JSON.stringify({ type: 'media.frames.v1' })),
    );
    // A media.frames.v2 body cut short, and a v2 frame of the wrong length.
    const v2 = encodeMediaFramesV2({
      callSid: call.callSid,
      streamSid: call.streamSid,
      track: 'outbound',
      speaker: SPEAKERS.outbound,
      receivedAt: new Date().toISOString(),
      frames: [{ chunk: 1, timestampMs: 1_000, payload: new Uint8Array(159) }],
    });
    await env.js.publish(env.subjects.media(call.callSid, 'outbound'), v2.subarray(0, v2.length - 1));
    await env.js.publish(env.subjects.media(call.callSid, 'outbound'), v2);
    // A message on the subject of another version: v2 on the call's `both`, v3 on a track's subject.
    await env.js.publish(env.subjects.media(call.callSid, 'both'), v2);
    await call.sendCall(
      { outbound: call.framesAt('outbound', [1_000]) },
      {
        valid: false,
        subject: env.subjects.media(call.callSid, 'outbound'),
      },
    );
    // A v3 message with an inbound frame of the wrong length: its outbound frame (in a gap) is stored all the same.
    const outbound1020 = framePayload(call.callSid, 'outbound', 1_020);
    await env.js.publish(
      env.subjects.media(call.callSid, 'both'),
      encodeMediaFramesV3({
        callSid: call.callSid,
        streamSid: call.streamSid,
        receivedAt: new Date().toISOString(),
        tracks: [
          {
            track: 'inbound',
            speaker: SPEAKERS.inbound,
            frames: [{ chunk: 9, timestampMs: 1_020, payload: new Uint8Array(161) }],
          },
          {
            track: 'outbound',
            speaker: SPEAKERS.outbound,
            frames: [{ chunk: 9, timestampMs: 1_020, payload: outbound1020 }],
          },
        ],
      }),
    );
    call.frames.outbound.set(1_020, outbound1020);
    await call.stream(1_040, 2_000, 5);
    await call.stop();
    await eventually(async () =>
      expect(await env.lastCallEvent(env.subjects.call(call.callSid, 'audio-stored'))).not.toBeNull(),
    );
    // Frames after the call's audio is stored: counted, never written.
    await call.send('inbound', call.framesAt('inbound', [2_000, 2_020, 2_040]), { valid: false });
    await finalized(call.callSid);

    const files = await env.repo.files(call.callSid);
    for (const track of call.tracks) await expectExactWavs(env.store, call, track, files, 2_000);
    const delta = async (reason: string) =>
      (await ingest.metric('calltx_ingest_rejected_frames_total', { reason })) - before[reason]!;
    expect({
      'invalid-base64': await delta('invalid-base64'),
      'payload-length': await delta('payload-length'),
      'unknown-track': await delta('unknown-track'),
      'invalid-message': await delta('invalid-message'),
      'timestamp-out-of-range': await delta('timestamp-out-of-range'),
      'call-finished': await delta('call-finished'),
    }).toEqual({
      'invalid-base64': 2,
      'payload-length': 4,
      'unknown-track': 1,
      'invalid-message': 5,
      'timestamp-out-of-range': 1,
      'call-finished': 3,
    });
    const rejectedLogs = ingest.logs.lines.filter(
      (l) => l.callSid === call.callSid && l.msg === 'media rejected',
    );
    expect(new Set(rejectedLogs.map((l) => l.reason))).toEqual(new Set(reasons));
    expect(ingest.logs.text).not.toContain(TECHNICIAN);
    expect(ingest.logs.text).not.toContain(AGENT);
  });

  it('announces and cleans up a call whose owner died after storing its WAVs', async () => {
    const call = new SyntheticCall(env.js, env.subjects);
    const frames = {
      inbound: call.framesAt('inbound', [0, 20, 40, 80]),
      outbound: call.framesAt('outbound', [20, 40]),
    };
    for (const track of call.tracks) {
      const spooled = frames[track].map((f) => ({
        timestampMs: f.timestampMs,
        payload: Buffer.from(f.payload, 'base64'),
      }));
      await env.store.putObject(partKey(call.callSid, SPEAKERS[track], 0, 80), encodePart(spooled));
    }
    // The dead owner's state: WAVs and their rows written, the call marked stored, nothing announced yet.
    await env.pool.query(
      `INSERT INTO calls (call_sid, ingest_state, tracks, speakers) VALUES ($1, 'none', $2, $3)`,
      [call.callSid, call.tracks, JSON.stringify(SPEAKERS)],
    );
    const wavs = await writeCallWavs(env.store, call.callSid, ['agent', 'technician']);
    await env.repo.markStored(call.callSid, wavs, 'stopped');
    await env.pool.query(`UPDATE calls SET ingest_state = 'stored' WHERE call_sid = $1`, [call.callSid]);

    await finalized(call.callSid);
    const stored = await env.lastCallEvent(env.subjects.call(call.callSid, 'audio-stored'));
    const event = JSON.parse(new TextDecoder().decode(stored!.data)) as { files: Array<{ sha256: string }> };
    expect(event.files.map((f) => f.sha256).sort()).toEqual(
      wavs.speakers.flatMap((s) => [s.wav8k.sha256, s.wav16k.sha256]).sort(),
    );
    expect(await keysUnder(env.store, streamPrefix(call.callSid))).toEqual(
      wavs.speakers.flatMap((s) => [s.wav8k.key, s.wav16k.key]).sort(),
    );
    expect(
      ingest.logs.lines.some(
        (l) => l.callSid === call.callSid && l.msg === 'call claimed' && l.state === 'stored',
      ),
    ).toBe(true);
  });
});
