export { uniqueName } from './unique-name.js';
export { natsUrlForTests } from './nats-for-tests.js';
export { s3ForTests, type S3ForTests, type S3ForTestsOptions, type S3TestConfig } from './s3-for-tests.js';
export {
  postgresForTests,
  withSearchPath,
  postgresAnswers,
  DEFAULT_TEST_DATABASE_URL,
  type PostgresForTests,
} from './postgres-for-tests.js';
export { isDockerReachable } from './docker.js';
export { spawnService, type ServiceProcess } from './spawn-service.js';
export { LogCapture, eventually } from './assertions.js';
export { infraEnv } from './infra-env.js';
export {
  pgbouncerForTests,
  type PgBouncerForTests,
  type PgBouncerForTestsOptions,
} from './pgbouncer-for-tests.js';
export { createTestPki, type TestPki, type TestPkiOptions } from './test-pki.js';
export { startRecordingProxy, type RecordingProxy, type RecordedRequest } from './recording-proxy.js';
export { storedEvents } from './stored-events.js';
