import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { createServiceHttp, type Logger, type ServiceHttp } from '@calltx/runtime';
import { type ObjectStore } from '@calltx/storage';
import { databaseAnswers, type Pool } from '@calltx/db';
import { type Subjects } from '@calltx/events';
import type { ApiConfig } from './api/config.js';
import { mountConsoleAndApi, type ConsoleAndApi } from './console/index.js';
import { startReadModelFeed, type ReadModelFeed } from './read-model/consumers.js';
import { ErasureCoordinator, startErasureFeed, type ErasureFeed } from './erasure/coordinator.js';
import { ErasureSweeper } from './erasure/sweeper.js';

export interface ApiServiceDeps {
  config: ApiConfig;
  /** Holds the read model (its own tables only). */
  pool: Pool;
  objectStore: ObjectStore;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  subjects: Subjects;
  logger: Logger;
  registry: Registry;
  /** TWILIO_ACCOUNT_SID: Voice SDK tokens are issued for this account. */
  twilioAccountSid: string;
  /** DEADLETTER_MAX_DELIVER of the read model's consumers. */
  maxDeliver: number;
  isNatsConnected: () => boolean;
  /** SSE keep-alive comment interval (tests shorten it). */
  heartbeatMs?: number;
}

export interface ApiService {
  http: ServiceHttp;
  consoleAndApi: ConsoleAndApi;
  readModel: ReadModelFeed;
  erasures: ErasureFeed;
  sweeper: ErasureSweeper;
}

/** The read API and the agent console over the read model, which the public events keep up to date. */
export async function createApiService(deps: ApiServiceDeps): Promise<ApiService> {
  const { pool, registry } = deps;
  const http = createServiceHttp({
    registry,
    checks: {
      nats: deps.isNatsConnected,
      postgres: () => databaseAnswers(pool),
    },
  });
  const erasure = new ErasureCoordinator({
    pool,
    js: deps.js,
    jsm: deps.jsm,
    subjects: deps.subjects,
    logger: deps.logger,
  });
  const consoleAndApi = mountConsoleAndApi(http.app, {
    erasure,
    config: deps.config,
    pool,
    objectStore: deps.objectStore,
    nc: deps.nc,
    subjects: deps.subjects,
    logger: deps.logger,
    twilioAccountSid: deps.twilioAccountSid,
    registry,
    ...(deps.heartbeatMs === undefined ? {} : { heartbeatMs: deps.heartbeatMs }),
  });
  const readModel = await startReadModelFeed({
    js: deps.js,
    jsm: deps.jsm,
    subjects: deps.subjects,
    pool,
    logger: deps.logger,
    registry,
    maxDeliver: deps.maxDeliver,
  });
  const erasures = await startErasureFeed(erasure, {
    pool,
    js: deps.js,
    jsm: deps.jsm,
    subjects: deps.subjects,
    logger: deps.logger,
    registry,
    maxDeliver: deps.maxDeliver,
  });
  const sweeper = new ErasureSweeper(
    erasure,
    {
      retentionDays: deps.config.RETENTION_DAYS,
      resumeAfterSeconds: deps.config.ERASURE_RESUME_AFTER_SECONDS,
      intervalMs: deps.config.ERASURE_SWEEP_INTERVAL_SECONDS * 1000,
    },
    deps.logger,
  );
  sweeper.start();
  return { http, consoleAndApi, readModel, erasures, sweeper };
}
