export {
  SILERO_VAD_V6,
  VadModelNotFoundError,
  resolveModelFile,
  type ModelSource,
} from './vad/model-file.js';
export {
  SileroVad,
  VadStream,
  UnsupportedVadModelError,
  VadInferenceError,
  VAD_SAMPLE_RATE,
  VAD_WINDOW_SAMPLES,
  type SileroVadOptions,
} from './vad/silero-vad.js';
export { SEGMENTER_DEFAULTS, type SegmenterOptions } from './segmenter/options.js';
export { Segmenter, segmentIdFor, type SegmentEvent } from './segmenter/segmenter.js';
export { segmentWhole } from './segmenter/segment-whole.js';
