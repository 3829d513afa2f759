/**
 * `pnpm deadletter:replay [--subject <dead-letter subject or wildcard>] [--consumer <name>] [--dry-run]`:
 * republishes dead letters to their original subject and removes them from the DEADLETTER stream (one line of
 * JSON per letter). Reads NATS_URL, NATS_TLS_* and NATS_SUBJECT_PREFIX like the services. In an image:
 * `node packages/nats/dist/dead-letter-cli.js …`.
 */
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadConfig, pickVariables } from '@calltx/config';
import { NATS_CONNECTION_VARIABLE_NAMES, NATS_VARIABLES } from './variables.js';
import { natsConnectionConfig } from './connection.js';
import { replayDeadLetters } from './dead-letters.js';
import { Subjects } from '@calltx/events';

const usage =
  'usage: deadletter:replay [--subject deadletter.v1.<CallSid|*>.<family|*>] [--consumer <name>] [--dry-run]';

let args;
try {
  args = parseArgs({
    options: {
      subject: { type: 'string' },
      consumer: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}

const config = loadConfig(
  pickVariables(NATS_VARIABLES, [...NATS_CONNECTION_VARIABLE_NAMES, 'NATS_SUBJECT_PREFIX']),
  process.env,
);
const subjects = new Subjects(config.NATS_SUBJECT_PREFIX);
const { url, tls } = natsConnectionConfig(config);
const nc = await connect({ servers: url.split(','), name: 'deadletter-replay', ...(tls ? { tls } : {}) });
try {
  const replayed = await replayDeadLetters({
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    subjects,
    filterSubject: args.subject,
    consumer: args.consumer,
    dryRun: args['dry-run'],
  });
  for (const letter of replayed) console.log(JSON.stringify(letter));
  console.error(`${args['dry-run'] ? 'would replay' : 'replayed'} ${replayed.length} dead letter(s)`);
} catch (error) {
  console.error(`dead-letter replay failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await nc.close();
}
