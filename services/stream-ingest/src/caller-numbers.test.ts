import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callEvents } from '@calltx/events';
import { internalEvents } from '@calltx/events/internal';
import { publishEvent } from '@calltx/nats';
import { LIFECYCLE_CONSUMER } from './app.js';
import { createTestEnvironment, eventually, type TestEnvironment } from './testing/environment.js';
import { startInProcess, type InProcessIngest } from './testing/in-process.js';
import { ACCOUNT_SID, AGENT, TECHNICIAN, TECHNICIAN_NUMBER, sid } from './testing/synthetic-call.js';

/** The technician's number's digits, as they must (not) appear in a row. */
const DIGITS = TECHNICIAN.slice(1);

describe('stream-ingest: parties in clear (STORE_CALLER_NUMBERS)', () => {
  let env: TestEnvironment;
  let ingest: InProcessIngest;

  beforeAll(async () => {
    env = await createTestEnvironment();
    ingest = await startInProcess(env);
  });
  afterAll(async () => {
    await ingest?.stop();
    await env?.close();
  });

  const started = (callSid: string, msgId = `${callSid}:started`) =>
    publishEvent(
      env.js,
      env.subjects.call(callSid, 'started'),
      // As the gateway publishes it: the number as a keyed hash only, its clear field empty.
      callEvents.started({
        callSid,
        at: new Date().toISOString(),
        accountSid: ACCOUNT_SID,
        from: AGENT,
        to: '',
        toNumber: TECHNICIAN_NUMBER,
        direction: 'inbound',
      }),
      msgId,
    );
  const parties = (callSid: string) =>
    publishEvent(
      env.js,
      env.subjects.parties(callSid),
      internalEvents.callParties({ callSid, at: new Date().toISOString(), from: AGENT, to: TECHNICIAN }),
      `${callSid}:parties`,
    );
  const row = async (callSid: string) =>
    (
      await env.pool.query<Record<string, unknown>>(
        `SELECT agent_party, technician_party, technician_number_hash, technician_number_last2, started_at
         FROM calls WHERE call_sid = $1`,
        [callSid],
      )
    ).rows[0];

  it.each([
    ['after', [started, parties]],
    ['before', [parties, started]],
  ])(
    'stores the clear parties from parties.v1 beside the hash, whether they come %s the start',
    async (_, steps) => {
      const callSid = sid('CA');
      for (const step of steps) await step(callSid);
      await eventually(async () =>
        expect(await row(callSid)).toMatchObject({
          agent_party: AGENT,
          technician_party: TECHNICIAN,
          technician_number_hash: TECHNICIAN_NUMBER.hash,
          technician_number_last2: '23',
          started_at: expect.any(Date),
        }),
      );
      // A start handled again (hash only; another id, so JetStream stores it again) keeps the clear number.
      await started(callSid, `${callSid}:started:again`);
      await eventually(async () => {
        const info = await env.jsm.consumers.info(env.subjects.streamName('calls'), LIFECYCLE_CONSUMER);
        expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
      });
      expect(await row(callSid)).toMatchObject({ technician_party: TECHNICIAN });
    },
  );

  it('without parties.v1 (the setting off) the number is nowhere in the table in clear', async () => {
    const callSid = sid('CA');
    await started(callSid);
    await eventually(async () =>
      expect(await row(callSid)).toMatchObject({
        agent_party: AGENT,
        technician_party: null,
        technician_number_hash: TECHNICIAN_NUMBER.hash,
      }),
    );
    const { rows } = await env.pool.query(`SELECT * FROM calls WHERE call_sid = $1`, [callSid]);
    expect(JSON.stringify(rows).replace(/\D/g, '')).not.toContain(DIGITS);
    // Nor in a log line, whatever the setting.
    expect(ingest.logs.text.replace(/\D/g, '')).not.toContain(DIGITS);
  });
});
