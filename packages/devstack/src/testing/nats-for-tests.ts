/** The NATS server (with JetStream) that tests use: $NATS_URL, else the local one. */
export function natsUrlForTests(): string {
  return process.env.NATS_URL || 'nats://127.0.0.1:4222';
}
