/**
 * Prints transcript finals as they are published, or replayed from a point:
 *
 *   NATS_URL=nats://127.0.0.1:4222 node --import tsx packages/events-client/examples/print-transcripts.ts \
 *     [--call CA…] [--since 2025-05-01T10:00:00Z | --after-sequence 1234 | --from-start] [--partials]
 *
 * One line per event on stdout: sequence, call, speaker, utterance time and text. Stop with Ctrl-C; print the last
 * sequence you saw and pass it as --after-sequence to carry on from there.
 */
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { EventsClient, type StartAt } from '@calltx/events-client';

const { values: args } = parseArgs({
  options: {
    call: { type: 'string' },
    since: { type: 'string' },
    'after-sequence': { type: 'string' },
    'from-start': { type: 'boolean', default: false },
    partials: { type: 'boolean', default: false },
  },
});

function startAt(): StartAt {
  if (args.since) return new Date(args.since);
  if (args['after-sequence']) return { afterSequence: Number(args['after-sequence']) };
  return args['from-start'] ? 'start' : 'new';
}

const seconds = (ms: number) => (ms / 1000).toFixed(1).padStart(6);

const nc = await connect({
  servers: (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(','),
  name: 'print-transcripts',
});
const client = new EventsClient(nc, {
  subjectPrefix: process.env.NATS_SUBJECT_PREFIX ?? '',
  onInvalid: ({ sequence, issues }) =>
    console.error(`skipped invalid event #${sequence}: ${issues.join('; ')}`),
});
const subscription = await client.transcripts({
  ...(args.call ? { callSid: args.call } : {}),
  ...(args.partials ? {} : { kind: 'final' as const }),
  startAt: startAt(),
});
console.error(`listening on ${subscription.filterSubject}`);

const stop = () => void subscription.close();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

for await (const { sequence, event } of subscription) {
  const mark = event.final ? ' ' : '~';
  console.log(
    `#${sequence} ${event.callSid} ${event.speaker.padEnd(10)} ${seconds(event.startMs)}s${mark} ${event.text}`,
  );
}
await nc.drain();
