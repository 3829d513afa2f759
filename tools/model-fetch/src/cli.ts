#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ModelFetchError } from './errors.js';
import { DEFAULT_BASE_URL, fetchWhisperModel } from './fetch-model.js';
import { progressPrinter } from './progress.js';

const USAGE = `usage: model-fetch <tiny.en|base.en|small.en|tiny|base|small|…|owner/name> [--timestamped] [--quantized] [--dir models/] [--base-url https://huggingface.co]

Downloads onnx-community/whisper-<name> (encoder, merged decoder, tokenizer and configs) into <dir>/whisper-<name>;
--timestamped takes its _timestamped variant (whisper-<name>_timestamped: cross-attention outputs, for word timing),
resuming interrupted downloads and verifying every file's size and sha256. --base-url defaults to $HF_ENDPOINT or ${DEFAULT_BASE_URL}.`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        quantized: { type: 'boolean', default: false },
        timestamped: { type: 'boolean', default: false },
        dir: { type: 'string', default: 'models' },
        'base-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const result = await fetchWhisperModel({
      model: positionals[0]!,
      quantized: values.quantized,
      timestamped: values.timestamped,
      dir: values.dir,
      baseUrl: values['base-url'] ?? process.env.HF_ENDPOINT ?? DEFAULT_BASE_URL,
      onProgress: progressPrinter(process.stderr),
      onFile: (file, outcome, remote) =>
        process.stderr.write(
          `${file}: ${outcome}, ${remote.size} bytes${remote.sha256 ? `, sha256 ${remote.sha256}` : ''}\n`,
        ),
    });
    process.stdout.write(
      `${result.repo}${result.commit ? `@${result.commit}` : ''} is in ${result.modelDir}\n` +
        `WHISPER_MODEL_DIR=${result.modelDir}${values.quantized ? ' WHISPER_QUANTIZED=true' : ''}\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`model-fetch: ${describe(error)}\n`);
    return 1;
  }
}

/** The message and the root cause (fetch hides ECONNREFUSED and the like two levels down). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let root: unknown = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  const known = error instanceof ModelFetchError || error instanceof RangeError;
  const message = known ? error.message : String(error);
  return root !== error && root instanceof Error ? `${message} (${root.message})` : message;
}

process.exitCode = await main(process.argv.slice(2));
