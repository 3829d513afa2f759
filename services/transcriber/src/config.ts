import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { booleanFlag, loadConfig, positiveInt, variable, type Config } from '@calltx/config';
import { parseRedactionKinds, REDACTION_KINDS } from '@calltx/redact';
import { DATABASE_VARIABLES } from '@calltx/db';
import { DEAD_LETTER_VARIABLES, NATS_VARIABLES } from '@calltx/nats';
import { RUNTIME_VARIABLES } from '@calltx/runtime';
import { STORAGE_VARIABLES } from '@calltx/storage';

export const TRANSCRIBER_VARIABLES = {
  ...NATS_VARIABLES,
  ...DATABASE_VARIABLES,
  ...STORAGE_VARIABLES,
  WHISPER_MODEL_DIR: variable(
    z.string().min(1),
    'Directory holding a Whisper model in the onnx-community layout.',
  ),
  ...RUNTIME_VARIABLES,
  ...DEAD_LETTER_VARIABLES,
  TRANSCRIBER_CONCURRENCY: variable(
    positiveInt(1, 1),
    'Inferences one replica holds at once; each holds its own copy of the model in memory. onnxruntime-node runs every session step on the event loop, so they take turns rather than overlap: more cores are used by more replicas (one per core, TRANSCRIBER_THREADS 1), not by raising this.',
  ),
  TRANSCRIBER_THREADS: variable(
    positiveInt(0, 0),
    'ONNX Runtime threads inside one inference; 0 divides the CPUs between TRANSCRIBER_CONCURRENCY inferences.',
  ),
  WHISPER_QUANTIZED: variable(
    booleanFlag(false),
    'Use the int8 graphs (onnx/*_quantized.onnx) of WHISPER_MODEL_DIR instead of fp32.',
  ),
  WHISPER_LANGUAGE: variable(
    z
      .string()
      .regex(/^([a-z]{2,3})?$/, 'must be empty or a Whisper language code such as en or de')
      .default(''),
    'Language of the calls; empty lets a multilingual model detect it per utterance (English-only models always use en).',
  ),
  TRANSCRIPT_REDACT: variable(
    z
      .string()
      .default('card,phone,email')
      .transform((list, ctx) => {
        const { kinds, unknown } = parseRedactionKinds(list);
        if (unknown.length > 0)
          ctx.addIssue({ code: 'custom', message: `unknown kinds ${unknown.join(', ')}` });
        return [...kinds];
      }),
    `Personal data replaced by a tag ([CARD], ...) in transcripts before they are stored or published: a comma list of ${REDACTION_KINDS.join(', ')}; empty turns redaction off. The default suits field service (customers read out card numbers, phone numbers and emails); add ssn and iban where callers give those. phone takes any run of 7 to 15 digits, so serial numbers read out are redacted too: leave it out where technicians must read them back.`,
    { keepEmpty: true },
  ),
  WHISPER_PROMPT: variable(
    z.string().max(1_000).default(''),
    "Default transcription hints (names, terms, spelling) given to Whisper as its previous-text prompt (at most n_text_ctx / 2 - 1 tokens, the last ones kept); a call's own hints replace it. Empty: none.",
  ),
  CALL_SETTINGS_WAIT_MS: variable(
    positiveInt(0, 2_000),
    "How long a call's first speech waits for its call.started event (which carries the call's language and hints) before it is transcribed with the defaults.",
  ),
  PARTIAL_MAX_AGE_MS: variable(
    positiveInt(0, 3_000),
    'A partial whose audio ended longer ago than this is acknowledged without transcribing it (the transcriber is behind; its final follows).',
  ),
  TRANSCRIBER_ACK_WAIT_MS: variable(
    positiveInt(1_000, 15_000),
    'Time after which a segment or job held by a replica that went silent is redelivered to another (live replicas extend it while they work).',
  ),
  WHISPER_MODEL_RETRY_MS: variable(
    positiveInt(100, 30_000),
    'While the model cannot be loaded (missing or corrupt), the replica stays unready and tries again after this long.',
  ),
  TRANSCRIBER_LAG_POLL_MS: variable(
    positiveInt(100, 5_000),
    'How often consumer lag (pending messages per consumer) is read from JetStream into the metrics.',
  ),
};

export type TranscriberConfig = Config<typeof TRANSCRIBER_VARIABLES>;

/** Reads and validates every variable the service needs; all problems in one ConfigError. */
export function loadTranscriberConfig(
  env: Record<string, string | undefined> = process.env,
): TranscriberConfig {
  return loadConfig(TRANSCRIBER_VARIABLES, env);
}

/** Threads per inference: as configured, or the machine's CPUs shared between the concurrent inferences. */
export function threadsPerInference(
  config: Pick<TranscriberConfig, 'TRANSCRIBER_THREADS' | 'TRANSCRIBER_CONCURRENCY'>,
): number {
  if (config.TRANSCRIBER_THREADS > 0) return config.TRANSCRIBER_THREADS;
  return Math.max(1, Math.floor(availableParallelism() / config.TRANSCRIBER_CONCURRENCY));
}
