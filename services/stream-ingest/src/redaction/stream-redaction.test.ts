import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcriptEvents } from '@calltx/events';
import { createLogger, createMetricsRegistry } from '@calltx/runtime';
import { CallClaims } from '../claims/index.js';
import { createIngestMetrics } from '../metrics.js';
import { createTestEnvironment, type TestEnvironment } from '../testing/environment.js';
import { CallBusyError, redactionHandler } from './stream-redaction.js';

const logger = createLogger({ service: 'stream-redaction-test', level: 'silent' });

/**
 * The handler of live finals against a call its own replica is finalizing: the owner's claim is not the
 * handler's to use or to release (a shared claim once let both rewrite a file, and the handler's release ended
 * the owner's hold mid-finalize).
 */
describe('redactionHandler', () => {
  let env: TestEnvironment;
  let claims: CallClaims;

  beforeAll(async () => {
    env = await createTestEnvironment();
    claims = await CallClaims.open({ nc: env.nc, bucket: env.claimsBucket, logger, ttlMs: 5_000 });
  });

  afterAll(async () => {
    claims?.abandonAll();
    await env?.close();
  });

  it('records the spans but leaves a call held by this replica’s owner to it, whose claim stays held', async () => {
    const callSid = `CA${'5'.repeat(32)}`;
    await env.repo.callStarted({
      callSid,
      at: new Date().toISOString(),
      accountSid: `AC${'0'.repeat(32)}`,
      from: 'client:agent',
      to: '',
      direction: 'outbound-api',
    });
    await env.pool.query(`UPDATE calls SET ingest_state = 'stored' WHERE call_sid = $1`, [callSid]);
    const owner = await claims.claim(callSid);
    expect(owner?.isHeld()).toBe(true);

    const handle = redactionHandler({
      store: env.store,
      repo: env.repo,
      metrics: createIngestMetrics(createMetricsRegistry('stream-redaction-test')),
      logger,
      audioRedaction: { fill: 'silence' },
      claims,
      isErased: () => Promise.resolve(false),
    });
    const at = new Date().toISOString();
    const final = transcriptEvents.final({
      final: true,
      callSid,
      speaker: 'agent',
      segmentId: `${callSid}:agent:0`,
      sequence: 0,
      startMs: 1_000,
      endMs: 2_000,
      text: '[CARD]',
      source: 'live',
      modelId: 'test',
      timing: { audioEndAt: at, publishedAt: at, latencyMs: 0 },
      redactions: [{ kind: 'card', startMs: 1_200, endMs: 1_800 }],
    });

    await expect(handle(final)).rejects.toBeInstanceOf(CallBusyError);
    expect((await env.repo.redactions(callSid)).get('agent')).toEqual([
      { kind: 'card', startMs: 1_200, endMs: 1_800 },
    ]);
    expect(owner!.isHeld()).toBe(true);
    expect(await claims.isClaimed(callSid)).toBe(true);

    // Released by its owner, the call is the handler's on redelivery, and free again after it.
    await owner!.release();
    await handle(final);
    expect(await claims.isClaimed(callSid)).toBe(false);
  });
});
