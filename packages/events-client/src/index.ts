export {
  EventsClient,
  transcriptFilterSubject,
  type EventsClientOptions,
  type CallFilter,
  type TranscriptFilter,
} from './client.js';
export {
  openSubscription,
  type Delivery,
  type InvalidDelivery,
  type Subscription,
  type OpenSubscriptionOptions,
} from './subscription.js';
export { resolveStart, type StartAt, type ResolvedStart } from './start-position.js';
export { EventsClientError } from './errors.js';
export { asyncApiDocument } from './contract/asyncapi.js';
export { asyncApiYaml, ASYNCAPI_PATH } from './contract/render.js';
export type { TranscriptEvent, CallEvent, RecordingEvent } from '@calltx/events';
