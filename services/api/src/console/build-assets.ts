import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CONSOLE_VENDOR_DIR, VOICE_SDK_ASSET } from './assets.js';

/**
 * Bundles the Twilio Voice JS SDK into one browser ES module (`dist/console-vendor/twilio-voice.js`, served as
 * /console/vendor/twilio-voice.js), which the console imports when the agent places a call. Run at build time:
 * `pnpm build:console`.
 */
export async function buildConsoleAssets(outDir = CONSOLE_VENDOR_DIR): Promise<string> {
  const outfile = `${outDir}/${VOICE_SDK_ASSET}`;
  await build({
    stdin: {
      contents: "export { Device, Call, TwilioError } from '@twilio/voice-sdk';",
      resolveDir: fileURLToPath(new URL('.', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'eof',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`wrote ${await buildConsoleAssets()}`);
}
