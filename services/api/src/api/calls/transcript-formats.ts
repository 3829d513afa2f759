import type { UtteranceRow } from './calls-repository.js';

/**
 * A call's transcript as documents: both speakers' final utterances merged in time order, each labelled with its
 * speaker (WebVTT voice spans, a `speaker:` prefix in SRT and text). Hand-written: the formats are a few lines
 * each, and the tests check the output with the W3C's WebVTT parser and an SRT parser from npm.
 */

export const TRANSCRIPT_FORMATS = ['json', 'txt', 'srt', 'vtt'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

export const CONTENT_TYPES: Record<TranscriptFormat, string> = {
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

/** hh:mm:ss.mmm (WebVTT, text) or hh:mm:ss,mmm (SRT). */
function timestamp(ms: number, separator: '.' | ','): string {
  const whole = Math.max(0, Math.round(ms));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor(whole / 60_000) % 60;
  const seconds = Math.floor(whole / 1000) % 60;
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${separator}${pad(whole % 1000, 3)}`;
}

/** One line, whatever the text held: cues end at a blank line, and a cue's text must not look like timings. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

const escapeVtt = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Utterances with something said: subtitles have no empty cues. */
const spoken = (utterances: readonly UtteranceRow[]) => utterances.filter((u) => oneLine(u.text) !== '');

export function toTxt(utterances: readonly UtteranceRow[]): string {
  return spoken(utterances)
    .map((u) => `[${timestamp(u.startMs, '.')}] ${u.speaker}: ${oneLine(u.text)}\n`)
    .join('');
}

export function toSrt(utterances: readonly UtteranceRow[]): string {
  return spoken(utterances)
    .map(
      (u, i) =>
        `${i + 1}\n${timestamp(u.startMs, ',')} --> ${timestamp(u.endMs, ',')}\n` +
        `${u.speaker}: ${oneLine(u.text).replace(/-->/g, '->')}\n\n`,
    )
    .join('');
}

/**
 * WebVTT with a voice span per cue, and where the final has word timings, a cue timestamp before each word
 * (karaoke-style: players show the words as they are said). Timestamps must lie strictly inside the cue and
 * increase, so a word whose start does not is left without one.
 */
export function toVtt(utterances: readonly UtteranceRow[]): string {
  const cues = spoken(utterances).map((u) => {
    let text = escapeVtt(oneLine(u.text));
    if (u.words && u.words.length > 0 && oneLine(u.words.map((w) => w.text).join('')) === oneLine(u.text)) {
      let last = u.startMs;
      text = u.words
        .map((word, i) => {
          const words = escapeVtt(i === 0 ? word.text.trimStart() : word.text.replace(/\s+/g, ' '));
          if (i === 0 || word.startMs <= last || word.startMs >= u.endMs) return words;
          last = word.startMs;
          return `<${timestamp(word.startMs, '.')}>${words}`;
        })
        .join('');
    }
    return (
      `${u.speaker}-${u.sequence}\n${timestamp(u.startMs, '.')} --> ${timestamp(u.endMs, '.')}\n` +
      `<v ${u.speaker}>${text}</v>\n\n`
    );
  });
  return `WEBVTT\n\n${cues.join('')}`;
}

/** The JSON export: the fields a final carried, those it did not carry left out. */
export function toJsonUtterance(u: UtteranceRow) {
  return {
    speaker: u.speaker,
    segmentId: u.segmentId,
    sequence: u.sequence,
    startMs: u.startMs,
    endMs: u.endMs,
    text: u.text,
    modelId: u.modelId,
    ...(u.language === null ? {} : { language: u.language }),
    ...(u.avgLogprob === null ? {} : { avgLogprob: u.avgLogprob }),
    ...(u.noSpeechProb === null ? {} : { noSpeechProb: u.noSpeechProb }),
    ...(u.segments === null ? {} : { segments: u.segments }),
    ...(u.words === null ? {} : { words: u.words }),
  };
}
