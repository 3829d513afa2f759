import type { z } from 'zod';
import { InvalidMessageError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeEvent(event: { type: string }): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

/** Parses and validates a message body; anything else is an InvalidMessageError (never retryable). */
export function decodeEvent<S extends z.ZodType>(schema: S, data: Uint8Array, what = 'message'): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (cause) {
    throw new InvalidMessageError(what, ['body is not UTF-8 JSON'], cause);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new InvalidMessageError(
      what,
      result.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return result.data;
}

type Tagged = z.ZodObject<{ type: z.ZodLiteral<string> }>;

/** A factory for one event type: fills in the type tag and validates, so a malformed event is never published. */
export function eventFactory<S extends Tagged>(schema: S) {
  const type = schema.shape.type.value;
  return (fields: Omit<z.input<S>, 'type'>): z.output<S> => {
    const result = schema.safeParse({ ...fields, type });
    if (!result.success) {
      throw new InvalidMessageError(
        `${type} event`,
        result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
      );
    }
    return result.data;
  };
}
