import { CalltxError } from '@calltx/shared';

/** A subscription could not be opened or used (stream missing, NATS unreachable, misuse). */
export class EventsClientError extends CalltxError {}
