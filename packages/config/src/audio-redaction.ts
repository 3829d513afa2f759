import { z } from 'zod';
import { booleanFlag, variable } from './variables.js';

/** Read by stream-ingest (stream WAVs) and the recording-fetcher (recordings), which each redact the audio they own. */
export const AUDIO_REDACTION_VARIABLES = {
  AUDIO_REDACT: variable(
    booleanFlag(false),
    'Silence (or cover with a tone, AUDIO_REDACT_FILL) the stored audio over every span the transcriber redacted ' +
      'from a final (TRANSCRIPT_REDACT must be on): stream WAVs from live finals, recordings from recording finals. ' +
      'The unredacted audio is not kept: the files are rewritten in place, and the call’s MEDIA messages are ' +
      'purged once its stream WAVs are written. See docs/privacy.md.',
  ),
  AUDIO_REDACT_FILL: variable(
    z.enum(['silence', 'tone']).default('silence'),
    'What covers a redacted span: `silence` (samples 0) or `tone` (a 1 kHz sine at −20 dBFS, peak 3277, ' +
      'phase counted from the file’s first sample).',
  ),
};
