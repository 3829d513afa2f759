import { Counter, Histogram, type Registry } from 'prom-client';

export interface ConsumerMetrics {
  messages: Counter<'consumer' | 'outcome'>;
  deadLetters: Counter<'consumer' | 'reason'>;
  seconds: Histogram<'consumer'>;
}

const byRegistry = new WeakMap<Registry, ConsumerMetrics>();

/** The consumer metrics of a registry: made once, shared by every consumer registering with it. */
export function consumerMetrics(registry: Registry): ConsumerMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = createConsumerMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

function createConsumerMetrics(registry: Registry): ConsumerMetrics {
  return {
    messages: new Counter({
      name: 'calltx_consumer_messages_total',
      help: 'Messages handled by a JetStream consumer, by outcome (ok, invalid, failed, exhausted, retried, requeued).',
      labelNames: ['consumer', 'outcome'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'calltx_consumer_dead_letters_total',
      help: 'Messages a consumer terminated and kept in the DEADLETTER stream, by reason (invalid, failed, max-deliveries, stranded).',
      labelNames: ['consumer', 'reason'],
      registers: [registry],
    }),
    seconds: new Histogram({
      name: 'calltx_consumer_handle_seconds',
      help: 'Time to handle one message.',
      labelNames: ['consumer'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
      registers: [registry],
    }),
  };
}
