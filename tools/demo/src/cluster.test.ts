import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMulaw, Upsampler2x, WAV_HEADER_BYTES } from '@calltx/audio';
import { eventually, startNatsCluster, storedEvents, type NatsCluster } from '@calltx/devstack';
import { claimsBucketName } from '@calltx/stream-ingest';
import { createObjectStore } from '@calltx/storage';
import { createPool, type Pool } from '@calltx/db';
import type { Subjects } from '@calltx/events';
import { newSid, prepareCallAudio, type PreparedCallAudio } from '@calltx/twilio-sim';
import { RANDOM_MODEL, SAMPLE_CALL, System } from './testing/system.js';

/**
 * The live pipeline (gateway, stream-ingest, transcriber as processes) on a three-server JetStream cluster with
 * every stream and bucket at three replicas. While calls stream, the MEDIA stream leader's server is SIGKILLed
 * and restarted, then a server that does not lead it: every frame sent is in the stored WAVs, bit for bit, and
 * no event or final is stored twice.
 */
const CALLS = 3;

let cluster: NatsCluster;
let system: System;
let subjects: Subjects;
let nc: NatsConnection;
let js: JetStreamClient;
let pool: Pool;
const SERVICES = ['gateway', 'stream-ingest', 'transcriber'] as const;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  system = await System.start({
    label: 'clu',
    natsUrl: cluster.url,
    env: { NATS_STREAM_REPLICAS: '3', WHISPER_MODEL_DIR: RANDOM_MODEL },
  });
  subjects = system.subjects;
  nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  js = jetstream(nc, { timeout: 10_000 });
  pool = createPool(system.databaseUrl, { max: 2 });
  for (const name of SERVICES) await system.start(name);
  // Ready means every stream and shared consumer is provisioned. Killing a server while a consumer is being
  // created can wedge that consumer's replica on it for good, a NATS 2.9.10 raft bug (docs/reliability.md); the
  // faults this test is about strike running calls.
  for (const name of SERVICES)
    await eventually(
      async () => expect((await fetch(`${system.url(name)}/readyz`)).status).toBe(200),
      90_000,
    );
}, 180_000);

afterAll(async () => {
  await pool?.end();
  await nc?.close();
  await system?.stop();
  await cluster?.stop();
});

/** What the ingest must store for a track: every mu-law byte sent, decoded (8 kHz) and upsampled (16 kHz). */
function expectedPcm(
  audio: PreparedCallAudio,
  track: 'inbound' | 'outbound',
): Record<8000 | 16000, Int16Array> {
  const media = track === 'inbound' ? audio.inboundMedia : audio.outboundMedia;
  const mulaw = Buffer.concat(
    media.map((json) => Buffer.from((JSON.parse(json) as { payload: string }).payload, 'base64')),
  );
  const pcm8k = decodeMulaw(mulaw);
  const upsampler = new Upsampler2x();
  const body = upsampler.process(pcm8k);
  const tail = upsampler.flush();
  const pcm16k = new Int16Array(body.length + tail.length);
  pcm16k.set(body);
  pcm16k.set(tail, body.length);
  return { 8000: pcm8k, 16000: pcm16k };
}

async function mediaMessages(): Promise<number> {
  const jsm = await jetstreamManager(nc, { timeout: 2_000 });
  return (await jsm.streams.info(subjects.streamName('media'))).state.messages;
}

async function leaderOf(stream: string, not?: number): Promise<number> {
  return eventually(async () => {
    const leader = await cluster.streamLeader(stream);
    expect(leader).toBeTypeOf('number');
    expect(leader).not.toBe(not);
    return leader!;
  }, 30_000);
}

/** stream-ingest's warnings, errors and finalize steps for one call: what a failed wait needs to be diagnosed. */
function ingestTrail(callSid: string): string {
  return system
    .service('stream-ingest')
    .logs.filter(
      (line) =>
        line.callSid === callSid &&
        (Number(line.level) >= 40 || /final|stored|claim|resumed/.test(String(line.msg))),
    )
    .slice(-40)
    .map((line) => JSON.stringify(line))
    .join('\n');
}

describe('the live pipeline on a three-server JetStream cluster', () => {
  it('loses no frame and stores nothing twice when the stream leader, then a follower, is killed mid-call', async () => {
    const sample = await prepareCallAudio(SAMPLE_CALL);
    // Twice the sample (about 50 s): long enough for both kills and restarts while the calls stream.
    const twice = (pcm: Int16Array) => {
      const out = new Int16Array(pcm.length * 2);
      out.set(pcm);
      out.set(pcm, pcm.length);
      return out;
    };
    const audio = await prepareCallAudio({
      sampleRate: 8000,
      agent: twice(sample.pcm.agent),
      technician: twice(sample.pcm.technician),
    });
    const callSids = Array.from({ length: CALLS }, () => newSid('CA'));
    const calls = Promise.all(callSids.map((callSid) => system.call({ callSid, wav: audio })));
    let callsDone = false;
    void calls.finally(() => (callsDone = true));

    const media = subjects.streamName('media');
    // Frames are flowing: kill the server leading MEDIA.
    await eventually(async () => expect(await mediaMessages()).toBeGreaterThan(50), 30_000);
    const leader = await leaderOf(media);
    await cluster.kill(leader);
    const newLeader = await leaderOf(media, leader);
    // The calls went on under the new leader: bring the old one back.
    const afterFirstKill = await eventually(mediaMessages, 30_000);
    await eventually(async () => expect(await mediaMessages()).toBeGreaterThan(afterFirstKill + 20), 30_000);
    await cluster.restart(leader);
    const restartedAt = Date.now();
    await cluster.waitForHealthy(leader);
    const leaderHealthyMs = Date.now() - restartedAt;
    // Now a server that does not lead MEDIA and has not been killed yet: it replays everything since the start
    // from its own store (a per-call consumer deleted and created again under one name came back stale there and
    // kept it unhealthy until the call ended; stream-ingest now names each owner's consumer apart).
    const follower = [0, 1, 2].find((i) => i !== newLeader && i !== leader)!;
    await cluster.kill(follower);
    const afterSecondKill = await eventually(mediaMessages, 30_000);
    await eventually(async () => expect(await mediaMessages()).toBeGreaterThan(afterSecondKill + 20), 30_000);
    await cluster.restart(follower);
    const followerRestartedAt = Date.now();
    expect(callsDone).toBe(false); // both faults landed while the calls streamed
    await cluster.waitForHealthy(follower);
    const followerHealthyMs = Date.now() - followerRestartedAt;
    // Issue 12's bar is 10 s on a quiet machine; this one is shared, hence the margin. Printed for the record.
    console.log(`restart to healthy: leader ${leaderHealthyMs} ms, follower ${followerHealthyMs} ms`);
    expect(Math.max(leaderHealthyMs, followerHealthyMs)).toBeLessThan(30_000);

    // Replicated as configured: the claims bucket (losing its one server broke every claim), and the per-call
    // consumers, replicated with their state in memory so a restarted server is soon healthy (bench:consumers).
    // Asked once the restarted server has caught up: until then an info request may wait out an election.
    await cluster.waitForHealthy();
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const claims = await jsm.streams.info(`KV_${claimsBucketName(subjects, 'stream-ingest')}`);
    expect(claims.config.num_replicas).toBe(3);
    const perCall = [];
    for await (const consumer of jsm.consumers.list(media)) perCall.push(consumer);
    expect(perCall.length).toBeGreaterThan(0);
    for (const consumer of perCall) {
      expect(consumer.config.mem_storage).toBe(true);
      expect(consumer.cluster?.replicas).toHaveLength(2);
    }

    const results = await calls;
    const store = createObjectStore(system.s3);
    for (const call of results) {
      // Finalized: WAVs stored and announced, the call's consumer and parts cleaned up. Seen once never finalized
      // under the full suite’s load, possibly one of the two wedges of a call left without a working media consumer
      // fixed since (docs/reliability.md); a slow finalize prints its trail, a stuck one fails with it.
      const waitFrom = Date.now();
      await eventually(async () => {
        const { rows } = await pool.query<{ ingest_state: string }>(
          'SELECT ingest_state FROM calls WHERE call_sid = $1',
          [call.callSid],
        );
        expect(rows[0]?.ingest_state).toBe('finalized');
      }, 60_000).catch((error: unknown) => {
        throw new Error(
          `${call.callSid} not finalized; stream-ingest logged:\n${ingestTrail(call.callSid)}`,
          {
            cause: error,
          },
        );
      });
      if (Date.now() - waitFrom > 30_000)
        console.warn(
          `${call.callSid} finalized ${Date.now() - waitFrom} ms after the calls ended:\n${ingestTrail(call.callSid)}`,
        );
      expect(call.framesSent).toEqual({ inbound: audio.frameCount, outbound: audio.frameCount });

      const { rows: files } = await pool.query<{ speaker: string; sample_rate: number; object_key: string }>(
        'SELECT speaker, sample_rate, object_key FROM call_stream_files WHERE call_sid = $1',
        [call.callSid],
      );
      expect(files).toHaveLength(4);
      for (const [track, speaker] of [
        ['inbound', 'agent'],
        ['outbound', 'technician'],
      ] as const) {
        const expected = expectedPcm(audio, track);
        for (const rate of [8000, 16000] as const) {
          const file = files.find((f) => f.speaker === speaker && f.sample_rate === rate)!;
          const wav = await store.getBuffer(file.object_key);
          const samples = wav.subarray(WAV_HEADER_BYTES);
          expect({ speaker, rate, bytes: samples.length }).toEqual({
            speaker,
            rate,
            bytes: expected[rate].byteLength,
          });
          expect(Buffer.compare(samples, Buffer.from(expected[rate].buffer))).toBe(0);
        }
      }

      // Each lifecycle event once (retries across the faults reused their Nats-Msg-Id).
      const events = await storedEvents(
        js,
        subjects.streamName('calls'),
        subjects.all('calls', call.callSid),
      );
      const types = events.map((event) => event.type as string);
      for (const type of [
        'call.started.v1',
        'call.stream-started.v1',
        'call.stream-stopped.v1',
        'call.audio-stored.v1',
      ])
        expect({ type, count: types.filter((t) => t === type).length }).toEqual({ type, count: 1 });
    }

    // No final twice: one per utterance (segmentId), none at the same start for a speaker.
    for (const callSid of callSids) {
      const finals = (
        await storedEvents(js, subjects.streamName('transcripts'), subjects.all('transcripts', callSid))
      ).filter((event) => event.type === 'transcript.final.v1');
      expect(finals.length).toBeGreaterThan(0);
      const ids = finals.map((final) => final.segmentId);
      expect(new Set(ids).size).toBe(ids.length);
      const starts = finals.map((final) => `${final.speaker as string}:${final.startMs as number}`);
      expect(new Set(starts).size).toBe(starts.length);
    }
  }, 240_000);
});
