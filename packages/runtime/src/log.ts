import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured fields that may hold personal data or secrets. They are censored wherever they appear (top level
 * or one level down), so a log line can carry them as context without leaking them. Messages themselves must
 * never contain such values: put them in fields.
 */
export const REDACTED_FIELDS = [
  'to',
  'from',
  'caller',
  'called',
  'phone',
  'number',
  'text',
  'transcript',
  'authToken',
  'token',
  'password',
  'secret',
  'secretKey',
  'authorization',
  'signature',
] as const;

const redactPaths = REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`]);

export interface LoggerConfig {
  service: string;
  level?: string;
  format?: 'json' | 'pretty';
  /** For tests: where JSON lines go. */
  destination?: pino.DestinationStream;
}

export function createLogger({
  service,
  level = 'info',
  format = 'json',
  destination,
}: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  if (format === 'pretty') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(options);
}
