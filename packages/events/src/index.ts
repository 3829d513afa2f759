import * as calls from './calls.js';
import * as recordings from './recordings.js';
import * as transcripts from './transcripts.js';
import { eventFactory } from './codec.js';

export * from './errors.js';
export * from './subjects.js';
export { WHISPER_LANGUAGES } from './languages.js';
export { STREAM_POLICIES, type FamilyPolicy } from './retention.js';
export { encodeEvent, decodeEvent, eventFactory } from './codec.js';
export * as schemas from './common.js';
export { CallErased, CallEvent, CallStarted, HINTS_MAX_LENGTH } from './calls.js';
export { PartyNumber, hashPhoneDigits, partyNumber, phoneDigits } from './caller-numbers.js';
export { RecordingEvent, RecordingStatusChanged } from './recordings.js';
export { TranscriptEvent, TranscriptRedaction, TranscriptSegment, TranscriptWord } from './transcripts.js';

export const callEvents = {
  started: eventFactory(calls.CallStarted),
  status: eventFactory(calls.CallStatusChanged),
  ended: eventFactory(calls.CallEnded),
  streamStarted: eventFactory(calls.StreamStarted),
  streamStopped: eventFactory(calls.StreamStopped),
  streamStatus: eventFactory(calls.StreamStatus),
  dtmf: eventFactory(calls.Dtmf),
  mark: eventFactory(calls.Mark),
  audioStored: eventFactory(calls.AudioStored),
  erased: eventFactory(calls.CallErased),
};

export const recordingEvents = {
  status: eventFactory(recordings.RecordingStatusChanged),
  stored: eventFactory(recordings.RecordingStored),
  fetchFailed: eventFactory(recordings.RecordingFetchFailed),
};

export const transcriptEvents = {
  partial: eventFactory(transcripts.TranscriptPartial),
  final: eventFactory(transcripts.TranscriptFinal),
};

/** Every public event schema by type string: the source the AsyncAPI document is generated from. */
export const EVENT_TYPES = Object.fromEntries(
  [
    ...calls.CallEvent.options,
    ...recordings.RecordingEvent.options,
    ...transcripts.TranscriptEvent.options,
  ].map((schema) => [schema.shape.type.value, schema]),
);
