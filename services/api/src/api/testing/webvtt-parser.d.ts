/** The part of webvtt-parser (the W3C's WebVTT parser and validator, untyped) the tests use. */
declare module 'webvtt-parser' {
  export type CueNode =
    | { type: 'text'; value: string }
    | { type: 'timestamp'; value: number }
    | { type: 'object'; name: string; value?: string; classes: string[]; children: CueNode[] };

  export interface Cue {
    id: string;
    startTime: number;
    endTime: number;
    text: string;
    tree: { children: CueNode[] };
  }

  export class WebVTTParser {
    /** Named character references (`html-entities.json` for the full set); a few common ones by default. */
    constructor(entities?: Record<string, string>);
    parse(
      input: string,
      mode?: 'subtitles' | 'metadata' | 'chapters',
    ): { cues: Cue[]; errors: Array<{ message: string; line: number; col?: number }> };
  }
}
