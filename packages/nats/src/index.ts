export { NATS_VARIABLES, NATS_CONNECTION_VARIABLE_NAMES, DEAD_LETTER_VARIABLES } from './variables.js';
export {
  connectNats,
  natsConnectionConfig,
  type NatsLink,
  type NatsConnectOptions,
  type NatsConnectionConfig,
  type NatsTlsFiles,
} from './connection.js';
export { whileJetStreamUnavailable } from './availability.js';
export { startJetStream, type JetStreamLink, type JetStreamStartOptions } from './jetstream-start.js';
export { provisionStreams, streamConfig } from './streams.js';
export {
  settleMessage,
  type SettleOptions,
  ensureDurableConsumer,
  runConsumer,
  startDurableConsumer,
  type DurableConsumerSpec,
  type StartDurableConsumerOptions,
  type RunConsumerOptions,
  type RunningConsumer,
} from './consumer.js';
export { consumerMetrics, type ConsumerMetrics } from './consumer-metrics.js';
export { publishEvent, PublishError } from './publish.js';
export {
  DeadLetters,
  DeadLetterError,
  DEAD_LETTER_HEADERS,
  replayDeadLetters,
  type DeadLetterReason,
  type LetterSource,
  type ReplayedLetter,
  type ReplayOptions,
} from './dead-letters.js';
export { JETSTREAM_RETRY } from './retry-policy.js';
export {
  StrandedMessages,
  REQUEUES_HEADER,
  stepDownConsumerLeader,
  type StrandedAction,
  type StrandedOutcome,
  type StrandedMessagesOptions,
  type WorkQueueConsumer,
} from './stranded.js';
export { followErasedCalls, startErasureConsumer, type ErasureConsumerOptions } from './erasure-consumer.js';
export { readTranscriptFinals, type StoredFinalRef } from './transcript-finals.js';
