import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, replayDeadLetters } from '@calltx/nats';
import { callEvents, encodeEvent } from '@calltx/events';
import { LIFECYCLE_CONSUMER } from './app.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';

/** Lifecycle events this service can never store: dead-lettered with the reason, not redelivered forever. */
describe('stream-ingest dead letters', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env, { lifecycleMaxDeliver: 5 });
  });
  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  const newCallSid = () => `CA${randomBytes(16).toString('hex')}`;
  const started = (callSid: string, direction = 'inbound') =>
    callEvents.started({
      callSid,
      accountSid: `AC${'1'.repeat(32)}`,
      at: new Date().toISOString(),
      from: 'client:agent-7',
      to: '+14155550123',
      direction,
    });

  async function deadLetterOf(callSid: string) {
    const stream = env.subjects.streamName('deadletter');
    return eventually(async () => {
      const letter = await env.jsm.streams.getMessage(stream, {
        last_by_subj: env.subjects.deadLetter(callSid, 'calls'),
      });
      expect(letter).not.toBeNull();
      return letter!;
    });
  }

  async function lifecycleSettled() {
    await eventually(async () => {
      const info = await env.jsm.consumers.info(env.subjects.streamName('calls'), LIFECYCLE_CONSUMER);
      expect(info.num_pending + info.num_ack_pending).toBe(0);
    });
  }

  it('dead-letters a call start whose From holds a NUL on its first delivery, and keeps consuming', async () => {
    const callSid = newCallSid();
    const subject = env.subjects.call(callSid, 'started');
    // As a gateway without the edge check stored it.
    const body = JSON.stringify({ ...started(callSid), from: 'client:agent\u00007' });
    await env.js.publish(subject, body, { msgID: `${callSid}:started` });
    const letter = await deadLetterOf(callSid);
    expect(letter.header.get(DEAD_LETTER_HEADERS.reason)).toBe('invalid');
    expect(letter.header.get(DEAD_LETTER_HEADERS.deliveries)).toBe('1');
    expect(letter.header.get(DEAD_LETTER_HEADERS.consumer)).toBe(LIFECYCLE_CONSUMER);
    await lifecycleSettled();
    expect(await env.repo.get(callSid)).toBeNull();
    expect(
      await ingest.metric('calltx_consumer_dead_letters_total', {
        consumer: LIFECYCLE_CONSUMER,
        reason: 'invalid',
      }),
    ).toBe(1);

    const next = newCallSid();
    await env.js.publish(env.subjects.call(next, 'started'), encodeEvent(started(next)));
    await eventually(async () => expect(await env.repo.get(next)).not.toBeNull());
  });

  it('dead-letters at once a call start the database refuses, and stores it when replayed after the fix', async () => {
    // The fault: a column too narrow for the value (SQLSTATE 22001), as a bad migration would leave it.
    await env.pool.query('ALTER TABLE calls ALTER COLUMN direction TYPE varchar(7)');
    const callSid = newCallSid();
    await env.js.publish(
      env.subjects.call(callSid, 'started'),
      encodeEvent(started(callSid, 'outbound-api')),
      {
        msgID: `${callSid}:started`,
      },
    );
    const letter = await deadLetterOf(callSid);
    expect(letter.header.get(DEAD_LETTER_HEADERS.reason)).toBe('failed');
    expect(letter.header.get(DEAD_LETTER_HEADERS.deliveries)).toBe('1');
    expect(letter.header.get(DEAD_LETTER_HEADERS.error)).toMatch(/value too long/);
    await lifecycleSettled();
    expect(await env.repo.get(callSid)).toBeNull();

    await env.pool.query('ALTER TABLE calls ALTER COLUMN direction TYPE text');
    const replayed = await replayDeadLetters({
      js: env.js,
      jsm: env.jsm,
      subjects: env.subjects,
      filterSubject: env.subjects.deadLetter(callSid, 'calls'),
    });
    expect(replayed).toHaveLength(1);
    await eventually(async () => expect(await env.repo.get(callSid)).not.toBeNull());
  });
});
