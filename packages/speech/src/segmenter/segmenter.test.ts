import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunks, layout, PER_MS, phrase, type Layout } from '../test-support/audio.js';
import { SileroVad } from '../vad/silero-vad.js';
import type { SegmenterOptions } from './options.js';
import { segmentWhole } from './segment-whole.js';
import { Segmenter, type SegmentEvent } from './segmenter.js';

let vad: SileroVad;
beforeAll(async () => {
  vad = await SileroVad.load();
});
afterAll(() => vad.close());

type Chunk = { pcm: Int16Array; offsetMs: number };

async function segment(input: Chunk[], options: Partial<SegmenterOptions> = {}): Promise<SegmentEvent[]> {
  const segmenter = new Segmenter(vad, { streamId: 'CA1:inbound', ...options });
  const events: SegmentEvent[] = [];
  for (const chunk of input) events.push(...(await segmenter.push(chunk.pcm, chunk.offsetMs)));
  events.push(...(await segmenter.flush()));
  return events;
}

const finals = (events: SegmentEvent[]) => events.filter((e) => e.kind === 'final');

/** The audio of `audio` between two call times, when `audio` starts at `startMs`. */
function slice(audio: Int16Array, startMs: number, fromMs: number, toMs: number): Int16Array {
  return audio.subarray(Math.round((fromMs - startMs) * PER_MS), Math.round((toMs - startMs) * PER_MS));
}

/** Three phrases apart, in light noise; starts at call time 5 s. */
const CALL_START_MS = 5000;
const three: Layout = layout([
  { silenceMs: 1000, noise: 100 },
  { speech: phrase(1) },
  { silenceMs: 1200, noise: 100 },
  { speech: phrase(2) },
  { silenceMs: 1200 },
  { speech: phrase(3) },
  { silenceMs: 1000, noise: 100 },
]);

describe('Segmenter', () => {
  it('finds each utterance once, with padded boundaries on call time and the audio between them', async () => {
    const events = await segment(chunks(three.pcm, 20, CALL_START_MS));
    const found = finals(events);
    expect(found.map((e) => [e.sequence, e.segmentId])).toEqual([
      [0, 'CA1:inbound:0'],
      [1, 'CA1:inbound:1'],
      [2, 'CA1:inbound:2'],
    ]);
    found.forEach((event, i) => {
      const speech = three.speech[i]!;
      // Speech padding is 200 ms; Silero notices speech onsets within a window or two and holds on
      // for a few hundred ms after the last sound.
      expect(event.startMs - CALL_START_MS).toBeGreaterThanOrEqual(speech.startMs - 200 - 32);
      expect(event.startMs - CALL_START_MS).toBeLessThanOrEqual(speech.startMs + 100);
      expect(event.endMs - CALL_START_MS).toBeGreaterThanOrEqual(speech.endMs);
      expect(event.endMs - CALL_START_MS).toBeLessThanOrEqual(speech.endMs + 200 + 400);
      expect(event.pcm.length).toBe((event.endMs - event.startMs) * PER_MS);
      expect(event.pcm).toEqual(slice(three.pcm, CALL_START_MS, event.startMs, event.endMs));
    });
  });

  it.each([
    ['digital silence', layout([{ silenceMs: 6000 }])],
    ['low white noise', layout([{ silenceMs: 6000, noise: 300 }])],
    ['mains hum with hiss', hum(6000, 50, 1500, 100)],
  ])('finds nothing in %s', async (_name, input) => {
    expect(await segment(chunks(input.pcm, 20))).toEqual([]);
  });

  it('sends partials at the interval with the audio so far, then one final per utterance', async () => {
    const events = await segment(chunks(three.pcm, 20, CALL_START_MS), { partialIntervalMs: 500 });
    const ids = [...new Set(events.map((e) => e.segmentId))];
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      const own = events.filter((e) => e.segmentId === id);
      const final = own.at(-1)!;
      const partials = own.slice(0, -1);
      expect(final.kind).toBe('final');
      expect(partials.every((e) => e.kind === 'partial' && e.startMs === final.startMs)).toBe(true);
      expect(partials.length).toBeGreaterThanOrEqual(Math.floor((final.endMs - final.startMs) / 500));
      partials.forEach((partial, k) => {
        const lengthMs = partial.endMs - partial.startMs;
        // Due every 500 ms of utterance audio, sent at the end of the 32 ms VAD window that reaches it.
        expect(lengthMs).toBeGreaterThanOrEqual(500 * (k + 1));
        expect(lengthMs).toBeLessThan(500 * (k + 1) + 32);
        expect(partial.pcm).toEqual(slice(three.pcm, CALL_START_MS, partial.startMs, partial.endMs));
      });
    }
  });

  it('gives the same events whatever the chunk size', async () => {
    const by20ms = await segment(chunks(three.pcm, 20, CALL_START_MS));
    const by1s = await segment(chunks(three.pcm, 1000, CALL_START_MS));
    const oddSizes: Chunk[] = [];
    for (let i = 0; i < three.pcm.length; i += 333) {
      oddSizes.push({ pcm: three.pcm.subarray(i, i + 333), offsetMs: CALL_START_MS + i / PER_MS });
    }
    expect(finals(by20ms)).toHaveLength(3);
    expect(by1s).toEqual(by20ms);
    expect(await segment(oddSizes)).toEqual(by20ms);
  });

  it('never pads an utterance back into the one before it', async () => {
    // Padding longer than half the silence that ends an utterance: the pads of neighbours would overlap.
    const close = layout([
      { speech: phrase(1) },
      { silenceMs: 550 },
      { speech: phrase(3) },
      { silenceMs: 800 },
    ]);
    const [first, second, ...more] = await segment(chunks(close.pcm, 20), {
      speechPadMs: 400,
      minSilenceMs: 300,
      partialIntervalMs: 0,
    });
    expect(more).toEqual([]);
    expect(second!.startMs).toBe(first!.endMs);
    expect(second!.startMs).toBeGreaterThan(close.speech[1]!.startMs - 400);
    expect(second!.pcm).toEqual(slice(close.pcm, 0, second!.startMs, second!.endMs));
  });

  it('drops an utterance whose speech is shorter than minSpeechMs', async () => {
    const one = layout([{ silenceMs: 500 }, { speech: phrase(1) }, { silenceMs: 1000 }]);
    expect(finals(await segment(chunks(one.pcm, 20), { minSpeechMs: 1500 }))).toHaveLength(1);
    expect(await segment(chunks(one.pcm, 20), { minSpeechMs: 3000 })).toEqual([]);
  });

  it('closes an utterance still open at the end of the stream on flush', async () => {
    const cut = layout([{ silenceMs: 500 }, { speech: phrase(2) }]);
    const segmenter = new Segmenter(vad, { streamId: 's', partialIntervalMs: 0 });
    expect(await segmenter.push(cut.pcm, 0)).toEqual([]);
    const [final, ...more] = await segmenter.flush();
    expect(more).toEqual([]);
    expect(final?.kind).toBe('final');
    expect(final!.endMs).toBe(cut.pcm.length / PER_MS);
    expect(final!.pcm).toEqual(slice(cut.pcm, 0, final!.startMs, final!.endMs));
  });

  describe('an utterance longer than maxUtteranceMs', () => {
    // Three phrases with pauses that are shorter than minSilenceMs: one utterance of about 9 s.
    const long = layout([
      { silenceMs: 500 },
      { speech: phrase(1) },
      { silenceMs: 600 },
      { speech: phrase(2) },
      { silenceMs: 600 },
      { speech: phrase(3) },
      { silenceMs: 1500 },
    ]);

    function expectConsecutive(events: SegmentEvent[], maxMs: number): void {
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i));
      expect(new Set(events.map((e) => e.segmentId)).size).toBe(events.length);
      for (const [i, event] of events.entries()) {
        expect(event.endMs - event.startMs).toBeLessThanOrEqual(maxMs);
        expect(event.pcm).toEqual(slice(long.pcm, 0, event.startMs, event.endMs));
        if (i > 0) expect(event.startMs).toBe(events[i - 1]!.endMs);
      }
    }

    it('is split in the middle of its latest pause', async () => {
      const options = { minSilenceMs: 1000, maxUtteranceMs: 5000, partialIntervalMs: 0 };
      const events = await segment(chunks(long.pcm, 20), options);
      expect(events).toHaveLength(3);
      expectConsecutive(events, 5000);
      const pauses = [1, 2].map((i) => ({ from: long.speech[i - 1]!.endMs, to: long.speech[i]!.startMs }));
      [0, 1].forEach((i) => {
        expect(events[i]!.endMs).toBeGreaterThan(pauses[i]!.from);
        expect(events[i]!.endMs).toBeLessThan(pauses[i]!.to);
      });
    });

    it('is cut where it reaches the maximum when it has no pause to split at', async () => {
      const options = {
        minSilenceMs: 1000,
        maxUtteranceMs: 2000,
        minSplitPauseMs: 5000,
        partialIntervalMs: 500,
      };
      const events = await segment(chunks(long.pcm, 20), options);
      const found = finals(events);
      expect(found.length).toBeGreaterThanOrEqual(4);
      expectConsecutive(found, 2000);
      // All but the last end exactly one VAD window short of the maximum or at it.
      for (const event of found.slice(0, -1)) expect(event.endMs - event.startMs).toBeGreaterThan(2000 - 32);
      expect(events.filter((e) => e.kind === 'partial').every((e) => e.endMs - e.startMs <= 2000)).toBe(true);
    });
  });

  describe('call-time offsets', () => {
    const first = layout([{ silenceMs: 300 }, { speech: phrase(1) }, { silenceMs: 300 }]);
    const second = layout([{ silenceMs: 300 }, { speech: phrase(3) }, { silenceMs: 800 }]);
    const firstEndMs = first.pcm.length / PER_MS;

    it('treat a gap as silence: the same events as if zeros had arrived', async () => {
      const gapMs = 60_000;
      const withGap = [...chunks(first.pcm, 20), ...chunks(second.pcm, 20, firstEndMs + gapMs)];
      const withZeros = [
        ...chunks(first.pcm, 20),
        ...chunks(new Int16Array(gapMs * PER_MS), 20, firstEndMs),
        ...chunks(second.pcm, 20, firstEndMs + gapMs),
      ];
      const events = await segment(withGap);
      expect(finals(events)).toHaveLength(2);
      expect(finals(events)[1]!.startMs).toBeGreaterThanOrEqual(firstEndMs + gapMs + 300 - 232);
      expect(await segment(withZeros)).toEqual(events);
    });

    it('skip a gap of hours without running the model through it', async () => {
      const gapMs = 10 * 3600_000;
      const segmenter = new Segmenter(vad, { streamId: 's', partialIntervalMs: 0 });
      const events: SegmentEvent[] = [];
      for (const c of chunks(first.pcm, 20)) events.push(...(await segmenter.push(c.pcm, c.offsetMs)));
      const [resumed, ...rest] = chunks(second.pcm, 20, firstEndMs + gapMs);
      const started = performance.now();
      events.push(...(await segmenter.push(resumed!.pcm, resumed!.offsetMs)));
      // Running 1.1 million windows of zeros one by one takes seconds.
      expect(performance.now() - started).toBeLessThan(500);
      for (const c of rest) events.push(...(await segmenter.push(c.pcm, c.offsetMs)));
      events.push(...(await segmenter.flush()));
      expect(events).toHaveLength(2);
      expect(events[1]!.startMs).toBeGreaterThan(firstEndMs + gapMs);
    });

    it('keep a short gap inside speech in the utterance, as zeros', async () => {
      const input = chunks(second.pcm, 20, 1000);
      const lost = input.splice(50, 3); // 60 ms from the middle of the phrase
      const [final, ...more] = finals(await segment(input));
      expect(more).toEqual([]);
      expect(final!.pcm.length).toBe((final!.endMs - final!.startMs) * PER_MS);
      const at = (lost[0]!.offsetMs - final!.startMs) * PER_MS;
      expect(final!.pcm.subarray(at, at + 60 * PER_MS).every((s) => s === 0)).toBe(true);
      expect(final!.pcm.subarray(at + 60 * PER_MS)).toEqual(
        slice(second.pcm, 1000, lost[2]!.offsetMs + 20, final!.endMs),
      );
    });

    it('drop audio that overlaps what was already pushed', async () => {
      const input = chunks(first.pcm, 20, 7000);
      const again = [...input.slice(0, 60), ...input.slice(40)]; // 400 ms sent twice
      expect(await segment(again)).toEqual(await segment(input));
    });
  });

  it('serves many streams from one VAD session', async () => {
    const a = chunks(three.pcm, 20, CALL_START_MS);
    const b = chunks(layout([{ silenceMs: 700 }, { speech: phrase(2) }, { silenceMs: 900 }]).pcm, 20);
    const [aloneA, aloneB] = [await segment(a), await segment(b)];
    const segmenters = [
      new Segmenter(vad, { streamId: 'CA1:inbound' }),
      new Segmenter(vad, { streamId: 'CA1:inbound' }),
    ];
    const together: SegmentEvent[][] = [[], []];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const pushes = [a[i], b[i]].map((chunk, s) =>
        chunk ? segmenters[s]!.push(chunk.pcm, chunk.offsetMs) : [],
      );
      (await Promise.all(pushes)).forEach((events, s) => together[s]!.push(...events));
    }
    for (const [s, segmenter] of segmenters.entries()) together[s]!.push(...(await segmenter.flush()));
    expect(together).toEqual([aloneA, aloneB]);
  });

  it('runs pushes made without waiting in the order they were made', async () => {
    const segmenter = new Segmenter(vad, { streamId: 'CA1:inbound' });
    const all = await Promise.all([
      ...chunks(three.pcm, 20, CALL_START_MS).map((c) => segmenter.push(c.pcm, c.offsetMs)),
      segmenter.flush(),
    ]);
    expect(all.flat()).toEqual(await segment(chunks(three.pcm, 20, CALL_START_MS)));
  });

  it('rejects options that contradict each other', () => {
    expect(() => new Segmenter(vad, { streamId: 's', startThreshold: 0.3, endThreshold: 0.4 })).toThrow(
      RangeError,
    );
    expect(() => new Segmenter(vad, { streamId: 's', maxUtteranceMs: 900 })).toThrow(/maxUtteranceMs/);
    expect(() => new Segmenter(vad, { streamId: 's', minSilenceMs: -1 })).toThrow(/minSilenceMs/);
  });
});

describe('segmentWhole', () => {
  it('gives the finals a live stream of the same audio gives', async () => {
    const live = await segment(chunks(three.pcm, 20, CALL_START_MS));
    const whole = await segmentWhole(vad, three.pcm, { streamId: 'CA1:inbound', offsetMs: CALL_START_MS });
    expect(whole).toHaveLength(3);
    expect(whole).toEqual(finals(live));
  });
});

/** A sine at `hz` with peak `amplitude` plus white noise, as a Layout without speech. */
function hum(ms: number, hz: number, amplitude: number, noise: number): Layout {
  const { pcm } = layout([{ silenceMs: ms, noise }]);
  for (let i = 0; i < pcm.length; i++)
    pcm[i] = pcm[i]! + Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 16000));
  return { pcm, speech: [] };
}
