export * from './errors/index.js';
export * from './config/index.js';
export * from './log/index.js';
export * from './metrics/index.js';
export * from './nats/index.js';
export * from './events/index.js';
export * from './runtime/index.js';
