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
  /**
   * The stream ended: emit whatever is pending. Resolves once every final of the stream is published (or given up)
   * and recorded, so a call is not finalized with finals still on their way.
   */
  end(): Promise<void>;
}

/** The last live final published for a speaker: a resumed live path continues after it. */
export interface LiveProgress {
  sequence: number;
  /** Call time just after the final's last sample. */
  endMs: number;
}

/** A live final JetStream acknowledged, as recorded: for a takeover's resumption and for the live-finals audit. */
export interface PublishedFinal extends LiveProgress {
  /** Call time of the final's first sample. */
  startMs: number;
  /** Where the live path that cut it started: a point of its VAD window grid. */
  pathStartMs: number;
}

/** `after`: the live path resumes a call whose last published final this was (numbering continues after it). */
export type SpeechSinkFactory = (callSid: string, speaker: string, after?: LiveProgress) => SpeechSink;
