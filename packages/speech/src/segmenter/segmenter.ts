import { VAD_WINDOW_SAMPLES, type SileroVad, type VadStream } from '../vad/silero-vad.js';
import { SAMPLES_PER_MS, settingsFrom, type SegmenterOptions, type SegmenterSettings } from './options.js';
import { PreRoll } from './pre-roll.js';
import { UtteranceAudio } from './utterance-audio.js';

export interface SegmentEvent {
  /** A partial carries the utterance so far; the one final of an utterance carries all of it. */
  kind: 'partial' | 'final';
  /** The same for the partials and the final of one utterance: segmentIdFor(streamId, sequence). */
  segmentId: string;
  /** Utterance number in the stream: 0, 1, 2, … without gaps. */
  sequence: number;
  /** Call time of the first sample of `pcm` (the padding included), on the offsets given to push. */
  startMs: number;
  /** Call time just after the last sample: pcm.length === (endMs - startMs) * 16. */
  endMs: number;
  /** 16 kHz mono audio of the utterance, a copy the receiver owns. */
  pcm: Int16Array;
}

export function segmentIdFor(streamId: string, sequence: number): string {
  return `${streamId}:${sequence}`;
}

/** Positions are samples on the stream's timeline: 0 is the first sample pushed, gaps count as silence. */
interface OpenUtterance {
  /** Where its audio starts, padding included. */
  start: number;
  speechStart: number;
  /** End of its last speech window; null for the rest of a split utterance before speech resumes. */
  lastSpeechEnd: number | null;
  /** Its speech has spanned minSpeech (the rest of a split utterance is confirmed from the start). */
  confirmed: boolean;
  /** Start of the run of silence windows it is in, if any. */
  silenceStart: number | null;
  /** The latest finished pause long enough to split at. */
  lastPause: { start: number; end: number } | null;
  /** Given with its first event, so that dropped utterances leave no gap in the numbering. */
  sequence: number | null;
  partialsSent: number;
}

/**
 * Cuts one stream of 16 kHz audio into utterances with Silero VAD. Audio must arrive in call order;
 * calls are queued, so a push made before the previous one resolved still runs after it. A pushed
 * array is read while its push is pending and must not be changed until then.
 */
export class Segmenter {
  private readonly settings: SegmenterSettings;
  private readonly vad: VadStream;
  private readonly preRoll: PreRoll;
  private readonly audio: UtteranceAudio;
  private readonly window = new Int16Array(VAD_WINDOW_SAMPLES);
  private windowFill = 0;
  /** Timeline position of the window being filled. */
  private windowStart = 0;
  /** Call time of timeline position 0, from the first push. */
  private baseMs: number | null = null;
  private open: OpenUtterance | null = null;
  private nextSequence = 0;
  /** End of the last emitted utterance: padding never reaches back into it. */
  private lastEnd = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(vad: SileroVad, options: SegmenterOptions) {
    this.settings = settingsFrom(options);
    this.vad = vad.createStream();
    this.preRoll = new PreRoll(this.settings.pad);
    this.audio = new UtteranceAudio(this.settings.maxUtterance);
  }

  /**
   * Takes the audio that starts at call time `offsetMs`. A later offset than where the previous push
   * ended is a gap and counts as silence; an earlier one overlaps, and the overlap is dropped.
   */
  push(pcm16k: Int16Array, offsetMs: number): Promise<SegmentEvent[]> {
    return this.serially(async () => {
      const events: SegmentEvent[] = [];
      this.baseMs ??= offsetMs;
      const drift = Math.round((offsetMs - this.baseMs) * SAMPLES_PER_MS) - this.received;
      // Offsets are whole milliseconds at best: less than one is not a gap.
      if (drift >= SAMPLES_PER_MS) {
        await this.takeSilence(drift, events);
        await this.take(pcm16k, events);
      } else {
        await this.take(
          drift <= -SAMPLES_PER_MS ? pcm16k.subarray(Math.min(-drift, pcm16k.length)) : pcm16k,
          events,
        );
      }
      return events;
    });
  }

  /** The stream has ended: closes an open utterance. A later push continues the same timeline afresh. */
  flush(): Promise<SegmentEvent[]> {
    return this.serially(async () => {
      const events: SegmentEvent[] = [];
      if (this.windowFill > 0) {
        this.window.fill(0, this.windowFill);
        await this.step(this.windowFill, events);
      }
      if (this.open) this.end(events);
      this.vad.reset();
      this.preRoll.clear();
      return events;
    });
  }

  private get received(): number {
    return this.windowStart + this.windowFill;
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async take(samples: Int16Array, events: SegmentEvent[]): Promise<void> {
    for (let i = 0; i < samples.length;) {
      const count = Math.min(VAD_WINDOW_SAMPLES - this.windowFill, samples.length - i);
      this.window.set(samples.subarray(i, i + count), this.windowFill);
      this.windowFill += count;
      i += count;
      if (this.windowFill === VAD_WINDOW_SAMPLES) await this.step(VAD_WINDOW_SAMPLES, events);
    }
  }

  /** Exactly as if `count` zero samples had been pushed, without running the model over long gaps. */
  private async takeSilence(count: number, events: SegmentEvent[]): Promise<void> {
    while (count > 0) {
      if (this.open === null && this.windowFill === 0 && count >= VAD_WINDOW_SAMPLES) {
        // Between utterances, whole windows of zeros only fill the pre-roll and reset the VAD state.
        const skipped = count - (count % VAD_WINDOW_SAMPLES);
        this.preRoll.pushSilence(skipped);
        this.vad.reset();
        this.windowStart += skipped;
        count -= skipped;
        continue;
      }
      const zeros = Math.min(VAD_WINDOW_SAMPLES - this.windowFill, count);
      this.window.fill(0, this.windowFill, this.windowFill + zeros);
      this.windowFill += zeros;
      count -= zeros;
      if (this.windowFill === VAD_WINDOW_SAMPLES) await this.step(VAD_WINDOW_SAMPLES, events);
    }
  }

  /** Runs the window being filled, of which the first `length` samples are audio, through the VAD. */
  private async step(length: number, events: SegmentEvent[]): Promise<void> {
    const { settings: s } = this;
    const probability = await this.vad.speechProbability(this.window);
    const samples = this.window.subarray(0, length);
    const start = this.windowStart;
    const end = start + length;
    this.windowStart = end;
    this.windowFill = 0;

    let u = this.open;
    if (u === null) {
      if (probability < s.startThreshold) {
        this.preRoll.push(samples);
        return;
      }
      u = this.begin(start);
    }
    this.preRoll.push(samples);
    this.audio.append(samples);

    if (probability >= s.endThreshold) {
      // A pause that began before a split is not inside this utterance.
      if (u.silenceStart !== null && u.silenceStart > u.start && start - u.silenceStart >= s.minSplitPause) {
        u.lastPause = { start: u.silenceStart, end: start };
      }
      u.silenceStart = null;
      u.lastSpeechEnd = end;
      if (end - u.speechStart >= s.minSpeech) u.confirmed = true;
    } else {
      u.silenceStart ??= start;
      if (end - u.silenceStart >= s.minSilence) {
        this.end(events);
        return;
      }
    }
    if (end - u.start + VAD_WINDOW_SAMPLES > s.maxUtterance) {
      this.split(events);
      return;
    }
    if (s.partialInterval > 0 && u.confirmed && u.lastSpeechEnd !== null) {
      const due = Math.floor((end - u.start) / s.partialInterval);
      if (due > u.partialsSent) {
        u.partialsSent = due;
        events.push(this.event('partial', u, end));
      }
    }
  }

  /** Opens an utterance at the speech window starting at `speechStart`, padded with the pre-roll. */
  private begin(speechStart: number): OpenUtterance {
    const padding = Math.min(this.settings.pad, this.preRoll.length, speechStart - this.lastEnd);
    this.audio.clear();
    const { buffer, offset } = this.audio.reserve(padding);
    this.preRoll.copyNewest(padding, buffer, offset);
    this.open = {
      start: speechStart - padding,
      speechStart,
      lastSpeechEnd: null,
      confirmed: false,
      silenceStart: null,
      lastPause: null,
      sequence: null,
      partialsSent: 0,
    };
    return this.open;
  }

  /** Closes the open utterance at the end of the audio so far; a final if its speech was long enough. */
  private end(events: SegmentEvent[]): void {
    const u = this.open!;
    this.open = null;
    if (!u.confirmed || u.lastSpeechEnd === null) return;
    const end = Math.min(u.lastSpeechEnd + this.settings.pad, this.windowStart);
    events.push(this.event('final', u, end));
    this.lastEnd = end;
  }

  /**
   * The open utterance is as long as it may get: it ends in the middle of its latest pause (or here, if it
   * had none), and the audio after that point opens the next utterance.
   */
  private split(events: SegmentEvent[]): void {
    const u = this.open!;
    const now = this.windowStart;
    const ongoing =
      u.silenceStart !== null &&
      u.silenceStart > u.start &&
      now - u.silenceStart >= this.settings.minSplitPause
        ? { start: u.silenceStart, end: now }
        : null;
    const pause = ongoing ?? u.lastPause;
    const at = pause ? pause.start + Math.floor((pause.end - pause.start) / 2) : now;
    events.push(this.event('final', u, at));
    this.lastEnd = at;
    this.audio.dropFirst(at - u.start);
    this.open = {
      start: at,
      speechStart: at,
      lastSpeechEnd: u.lastSpeechEnd !== null && u.lastSpeechEnd > at ? u.lastSpeechEnd : null,
      confirmed: true,
      silenceStart: u.silenceStart,
      lastPause: null,
      sequence: null,
      partialsSent: 0,
    };
  }

  private event(kind: SegmentEvent['kind'], u: OpenUtterance, end: number): SegmentEvent {
    u.sequence ??= this.nextSequence++;
    const baseMs = this.baseMs ?? 0;
    return {
      kind,
      segmentId: segmentIdFor(this.settings.streamId, u.sequence),
      sequence: u.sequence,
      startMs: baseMs + u.start / SAMPLES_PER_MS,
      endMs: baseMs + end / SAMPLES_PER_MS,
      pcm: this.audio.copyFirst(end - u.start),
    };
  }
}
