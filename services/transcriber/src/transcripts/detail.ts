import type { DetailedRecognition, TimedText } from '../engine/recognizer.js';
import type { StoredSegment } from '../db/transcript-store.js';

type Detail = Pick<StoredSegment, 'language' | 'avgLogprob' | 'noSpeechProb' | 'segments' | 'words'>;

/**
 * A final's detail in call time: the utterance starts at `startMs` of the call. Times are clamped to the utterance
 * (a closing timestamp token may name a step past the audio's end).
 */
export function detailInCallTime(result: DetailedRecognition, startMs: number, endMs: number): Detail {
  const place = <T extends TimedText>(item: T): T => ({
    ...item,
    startMs: Math.min(endMs, startMs + item.startMs),
    endMs: Math.min(endMs, startMs + item.endMs),
  });
  return {
    language: result.language,
    avgLogprob: result.avgLogprob,
    noSpeechProb: result.noSpeechProb,
    segments: result.segments.map(place),
    words: result.words?.map(place) ?? null,
  };
}
