export { simulateCall, type SimulateCallOptions, type SimulatedCall } from './call/simulate-call.js';
export type { CallbackDelivery, CallbackKind } from './call/callbacks.js';
export type { DtmfEvent, StreamEnd, StreamTrack } from './call/media-stream.js';
export type { RecordingOutcome } from './call/recording.js';
export { runLoad, type RunLoadOptions, type LoadResult, type LoadCallOutcome } from './load/run-load.js';
export {
  startFakeTwilioApi,
  type FakeTwilioApi,
  type FakeTwilioApiOptions,
  type RecordingInfo,
  type RecordingResourceStatus,
  type ApiRequestLogEntry,
} from './fake-api/fake-twilio-api.js';
export type { RecordingFaults } from './fake-api/recording-faults.js';
export {
  prepareCallAudio,
  type CallAudio,
  type CallAudioSource,
  type PreparedCallAudio,
} from './audio/call-audio.js';
export { signTwilioRequest } from './signature.js';
export { newSid, type SidPrefix } from './sids.js';
export { SimulatedCallError, CallAudioError, type CallStage } from './errors.js';
