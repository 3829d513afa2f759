import { FRAME_MS, FRAME_SAMPLES, recordingWavOf, type PreparedCallAudio } from '../audio/call-audio.js';
import { rfc2822 } from '../dates.js';
import type { FakeTwilioApi } from '../fake-api/fake-twilio-api.js';
import type { RecordingFaults } from '../fake-api/recording-faults.js';
import type { RecordingInstruction } from '../twiml/parse-twiml.js';
import type { CallbackSender } from './callbacks.js';

/** How the recording ends: available, `absent` (Twilio: silent or too short), or `failed`. */
export type RecordingOutcome = 'completed' | 'absent' | 'failed';

/** Twilio error codes carried in ErrorCode: silent recording, and recording not stored (encryption). */
const ERROR_SILENT = '16102';
const ERROR_NOT_STORED = '16105';

export interface CallRecordingOptions {
  instruction: RecordingInstruction;
  api: FakeTwilioApi;
  recordingSid: string;
  accountSid: string;
  callSid: string;
  callbacks: CallbackSender;
  faults?: RecordingFaults;
}

/** The `<Start><Recording>` of one call: its status callbacks and, when it completes, its file in the fake API. */
export class CallRecording {
  private readonly startTime = new Date();

  constructor(private readonly options: CallRecordingOptions) {}

  get recordingSid(): string {
    return this.options.recordingSid;
  }

  /** Recording starts as soon as Twilio runs `<Start><Recording>`. */
  start(): void {
    this.notify('in-progress', '-1', '0');
  }

  /** After the call: store the dual-channel file (if completed) and report the outcome. */
  finish(audio: PreparedCallAudio, frames: number, forced?: RecordingOutcome): void {
    const { api, recordingSid, callSid, faults } = this.options;
    const durationSec = String(Math.round((frames * FRAME_MS) / 1000));
    const outcome = forced ?? (isSilent(audio, frames) ? 'absent' : 'completed');
    if (outcome === 'completed') {
      api.addRecording(recordingSid, recordingWavOf(audio, frames), {
        callSid,
        startTime: this.startTime,
        ...(faults ? { faults } : {}),
      });
      this.notify('completed', durationSec, '0');
    } else if (outcome === 'absent') {
      this.notify('absent', durationSec, ERROR_SILENT);
    } else {
      // <Recording> only lets you subscribe to in-progress/completed/absent; report failures to `completed` subscribers.
      this.notify('failed', durationSec, ERROR_NOT_STORED, 'completed');
    }
  }

  private notify(status: string, durationSec: string, errorCode: string, subscription = status): void {
    const { instruction, api, recordingSid, accountSid, callSid, callbacks } = this.options;
    const url = instruction.recordingStatusCallback;
    if (!url || !instruction.recordingStatusCallbackEvents.has(subscription)) return;
    callbacks.send('recording-status', status, url, instruction.recordingStatusCallbackMethod, {
      AccountSid: accountSid,
      CallSid: callSid,
      RecordingSid: recordingSid,
      RecordingUrl: api.recordingUrl(recordingSid),
      RecordingStatus: status,
      RecordingDuration: durationSec,
      RecordingChannels: instruction.channels === 'mono' ? '1' : '2',
      RecordingStartTime: rfc2822(this.startTime),
      RecordingSource: 'StartCallRecordingTwiML',
      RecordingTrack: instruction.track,
      ErrorCode: errorCode,
    });
  }
}

function isSilent(audio: PreparedCallAudio, frames: number): boolean {
  const end = frames * FRAME_SAMPLES;
  for (const channel of [audio.pcm.agent, audio.pcm.technician]) {
    for (let i = 0; i < end; i++) if (channel[i] !== 0) return false;
  }
  return true;
}
