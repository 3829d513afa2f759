/**
 * Where the live 16 kHz audio of one speaker goes: the seam between placing frames on call time and finding
 * speech in them (VAD segmentation, then SpeechSegment events for the transcriber).
 */
export interface SpeechSink {
  /**
   * The next audio of the speaker, contiguous with the previous push; `offsetMs` is the call time of its first
   * sample (a multiple of 1/16 ms). A returned promise asks the caller to wait before pushing more (backlog).
   */
  push(pcm16k: Int16Array, offsetMs: number, audioEndAt: string): Promise<void> | undefined;
  /** The stream ended: emit whatever is pending. */
  end(): void;
}

export type SpeechSinkFactory = (callSid: string, speaker: string) => SpeechSink;
