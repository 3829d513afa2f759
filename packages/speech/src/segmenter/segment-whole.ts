import type { SileroVad } from '../vad/silero-vad.js';
import type { SegmenterOptions } from './options.js';
import { Segmenter, type SegmentEvent } from './segmenter.js';

/**
 * The utterances of a whole recording (one mono channel, 16 kHz), as final events only: the same
 * segmentation as a live stream that received it in one piece.
 */
export async function segmentWhole(
  vad: SileroVad,
  pcm16k: Int16Array,
  options: Omit<SegmenterOptions, 'partialIntervalMs'> & { offsetMs?: number },
): Promise<SegmentEvent[]> {
  const { offsetMs = 0, ...segmenterOptions } = options;
  const segmenter = new Segmenter(vad, { ...segmenterOptions, partialIntervalMs: 0 });
  const events = await segmenter.push(pcm16k, offsetMs);
  events.push(...(await segmenter.flush()));
  return events;
}
