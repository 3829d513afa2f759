import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { LogCapture, natsUrlForTests } from '@calltx/devstack';
import { createGateway, loadGatewayConfig } from '@calltx/gateway';
import { Subjects } from '@calltx/events';
import { connectNats, provisionStreams } from '@calltx/nats';
import { createLogger, createMetricsRegistry } from '@calltx/runtime';

export const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
export const AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
export const PUBLIC_BASE_URL = 'https://gateway.calls.example';

export interface GatewayForConsole {
  subjects: Subjects;
  /** http://127.0.0.1:<port> — where the simulator connects; signatures use PUBLIC_BASE_URL. */
  baseUrl: string;
  logs: LogCapture;
  close(): Promise<void>;
}

/** The gateway, through its package, so that a simulated call reaches the console as Twilio's would. */
export async function startGateway(): Promise<GatewayForConsole> {
  const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const config = loadGatewayConfig({
    NATS_URL: natsUrlForTests(),
    NATS_SUBJECT_PREFIX: prefix,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_CALLER_ID: '+15005550006',
    PUBLIC_BASE_URL,
    PORT: '0',
  });
  const logs = new LogCapture();
  const logger = createLogger({ service: 'gateway', level: 'debug', destination: logs });
  const subjects = new Subjects(prefix);
  const nats = await connectNats({ url: config.NATS_URL, name: 'gateway-test', logger });
  const jsm = await jetstreamManager(nats.nc);
  const families = ['calls', 'media', 'recordings'] as const;
  await provisionStreams(jsm, subjects, [...families], logger);
  const gateway = createGateway({
    config,
    nc: nats.nc,
    js: jetstream(nats.nc),
    subjects,
    logger,
    registry: createMetricsRegistry('gateway'),
    isNatsConnected: nats.isConnected,
  });
  const port = await gateway.http.listen(0, '127.0.0.1');
  return {
    subjects,
    baseUrl: `http://127.0.0.1:${port}`,
    logs,
    async close() {
      gateway.stopIntake();
      await gateway.closeStreams(0);
      await gateway.closed();
      for (const family of families)
        await jsm.streams.delete(subjects.streamName(family)).catch(() => undefined);
      await nats.nc.close();
    },
  };
}
