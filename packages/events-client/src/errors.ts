import { CalltxError } from '@calltx/events';

/** A subscription could not be opened or used (stream missing, NATS unreachable, misuse). */
export class EventsClientError extends CalltxError {}
