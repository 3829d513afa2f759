export { MULAW_DECODE_TABLE, decodeMulaw, encodeMulaw } from './mulaw/mulaw.js';
export { HALF_BAND_KAISER_BETA, HALF_BAND_TAPS_PER_SIDE, designHalfBand } from './resample/halfband.js';
export { Upsampler2x } from './resample/upsampler.js';
export {
  RESPONSE_FREQUENCIES_HZ,
  measureUpsamplerResponse,
  upsampleWhole,
  type ResponsePoint,
  type UpsampleFn,
  type UpsamplerResponse,
} from './resample/response.js';
export { WavFormatError, type WavFormatProblem } from './wav/errors.js';
export {
  WAVE_FORMAT_ALAW,
  WAVE_FORMAT_EXTENSIBLE,
  WAVE_FORMAT_IEEE_FLOAT,
  WAVE_FORMAT_MULAW,
  WAVE_FORMAT_PCM,
  WAV_HEADER_BYTES,
  parseWavHeader,
  wavHeader,
  type WavHeaderFields,
  type WavInfo,
} from './wav/header.js';
export { pcm16leBytes } from './wav/pcm-bytes.js';
export { StereoSplitter } from './wav/stereo-splitter.js';
export {
  REDACTION_TONE_HZ,
  REDACTION_TONE_PEAK,
  redactStoredWav,
  redactWav,
  redactedSample,
  spanFrames,
  type RedactionFill,
  type RedactionSpan,
  type RewritableStore,
  type WavRedaction,
} from './wav/redact.js';
