export { EmbeddedServerError } from './errors.js';
export {
  startEmbeddedNats,
  findNatsServerBinary,
  type EmbeddedNats,
  type EmbeddedNatsOptions,
} from './nats/embedded-nats.js';
export { startEmbeddedS3, type EmbeddedS3, type EmbeddedS3Options } from './s3/embedded-s3.js';
export {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './postgres/embedded-postgres.js';
export {
  startLocalPostgres,
  type LocalPostgres,
  type LocalPostgresOptions,
} from './postgres/local-postgres.js';
export * from './testing/index.js';
export { isReachable } from './reachable.js';
export { startNatsCluster, type NatsCluster, type NatsClusterOptions } from './nats/nats-cluster.js';
