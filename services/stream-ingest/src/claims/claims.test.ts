import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsUrlForTests, uniqueName } from '@calltx/devstack';
import { createLogger } from '@calltx/runtime';
import { Subjects } from '@calltx/events';
import { CallClaims, claimsBucketName } from './claims.js';

const logger = createLogger({ service: 'claims-test', level: 'silent' });
const CALL = (n: number) => `CA${n.toString(16).padStart(32, '0')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CallClaims', () => {
  let nc: NatsConnection;
  let bucket: string;
  let a: CallClaims;
  let b: CallClaims;

  beforeAll(async () => {
    nc = await connect({ servers: natsUrlForTests() });
    bucket = claimsBucketName(new Subjects(uniqueName('t')), 'ingest');
    a = await CallClaims.open({ nc, bucket, logger, owner: 'a', ttlMs: 1_500 });
    b = await CallClaims.open({ nc, bucket, logger, owner: 'b', ttlMs: 1_500 });
  });

  afterAll(async () => {
    a.abandonAll();
    b.abandonAll();
    await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`).catch(() => undefined);
    await nc.close();
  });

  it('names the bucket after the subject prefix and the service', () => {
    expect(claimsBucketName(new Subjects('t1'), 'stream-ingest')).toBe('t1_CLAIMS_stream-ingest');
    expect(claimsBucketName(new Subjects(), 'transcriber')).toBe('CLAIMS_transcriber');
  });

  it('gives a key to one replica at a time, and to another after release', async () => {
    const claim = await a.claim(CALL(1));
    expect(claim?.isHeld()).toBe(true);
    expect(await b.claim(CALL(1))).toBeNull();
    expect(await b.isClaimed(CALL(1))).toBe(true);
    expect(await b.claimedKeys()).toContain(CALL(1));

    await claim!.release();
    expect(claim!.isHeld()).toBe(false);
    expect(await a.isClaimed(CALL(1))).toBe(false);
    const taken = await b.claim(CALL(1));
    expect(taken?.isHeld()).toBe(true);
    expect(b.heldKeys()).toContain(CALL(1));
    await taken!.release();
  });

  it('gives a key held here to no second holder here, so one holder’s release cannot end the other’s hold', async () => {
    const owner = await a.claim(CALL(5));
    expect(owner?.isHeld()).toBe(true);
    expect(await a.claim(CALL(5))).toBeNull();
    expect(a.get(CALL(5))).toBe(owner);
    expect(owner!.isHeld()).toBe(true);
    expect(await a.isClaimed(CALL(5))).toBe(true);
    await owner!.release();
    const next = await a.claim(CALL(5));
    expect(next?.isHeld()).toBe(true);
    await next!.release();
  });

  it('lets exactly one of many concurrent claimers win', async () => {
    const results = await Promise.all([
      a.claim(CALL(2)),
      b.claim(CALL(2)),
      a.claim(CALL(2)),
      b.claim(CALL(2)),
    ]);
    const winners = new Set(results.filter((claim) => claim !== null));
    expect(winners.size).toBe(1);
    await [...winners][0]!.release();
  });

  it('keeps a renewed claim well past the TTL', async () => {
    const claim = await a.claim(CALL(3));
    await sleep(3_500);
    expect(claim!.isHeld()).toBe(true);
    expect(await b.claim(CALL(3))).toBeNull();
    await claim!.release();
  });

  it('frees an abandoned claim after the TTL, and its holder knows it lost it', async () => {
    const claim = await a.claim(CALL(4));
    a.abandonAll();
    expect(claim!.signal.aborted).toBe(true);
    expect(await b.claim(CALL(4))).toBeNull();
    let taken = null;
    for (let i = 0; i < 40 && !taken; i++) {
      await sleep(100);
      taken = await b.claim(CALL(4));
    }
    expect(taken?.isHeld()).toBe(true);
    await taken!.release();
  });

  it('stops a holder at its next renewal once someone else owns the key', async () => {
    const claim = await a.claim(CALL(5));
    // An operator purge (or an expiry a paused holder missed) lets another replica in.
    const kv = await new Kvm(nc).open(bucket);
    await kv.purge(CALL(5));
    const taken = await b.claim(CALL(5));
    expect(taken).not.toBeNull();
    await new Promise((resolve) => claim!.signal.addEventListener('abort', resolve));
    expect(claim!.isHeld()).toBe(false);
    expect(taken!.isHeld()).toBe(true);
    await claim!.release(); // not ours any more: must not delete b's key
    expect(await a.isClaimed(CALL(5))).toBe(true);
    await taken!.release();
  });
});
