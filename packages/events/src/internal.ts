/**
 * Events between calltx services: not part of the public contract, and free to change without a major version.
 * Their subjects come from the same builder (`Subjects`) as the public ones.
 */
import { eventFactory } from './codec.js';
import * as parties from './parties.js';
import * as speech from './speech.js';

export {
  MediaFrames,
  MEDIA_FRAMES_V2,
  MEDIA_FRAMES_V3,
  MEDIA_V2_FRAME_HEADER_BYTES,
  decodeMediaBatch,
  encodeMediaFramesV2,
  encodeMediaFramesV3,
  mediaFramesV2Head,
  mediaFramesV3Head,
  mediaFramesV3SectionHead,
  mediaSections,
  type AnyMediaBatch,
  type MediaBatch,
  type MediaFramesV2,
  type MediaFramesV3,
  type MediaTrackFrames,
} from './media.js';
export { ErasureDone, ErasureRequested, SpeechSegment, TranscriptionJob } from './speech.js';
export { CallParties } from './parties.js';

export const internalEvents = {
  speechSegment: eventFactory(speech.SpeechSegment),
  transcriptionJob: eventFactory(speech.TranscriptionJob),
  callParties: eventFactory(parties.CallParties),
  erasureRequested: eventFactory(speech.ErasureRequested),
  erasureDone: eventFactory(speech.ErasureDone),
};
