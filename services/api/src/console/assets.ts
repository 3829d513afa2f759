import { fileURLToPath } from 'node:url';

/** The console's static files: the same path from src/console (tests, tsx) and dist/console (production). */
export const CONSOLE_PUBLIC_DIR = fileURLToPath(new URL('../../public/console', import.meta.url));
/** Built browser bundles (`pnpm build:console`), served under /console/vendor/: build output, so under dist/. */
export const CONSOLE_VENDOR_DIR = fileURLToPath(new URL('../../dist/console-vendor', import.meta.url));
/** The bundled Voice SDK, in CONSOLE_VENDOR_DIR. */
export const VOICE_SDK_ASSET = 'twilio-voice.js';
