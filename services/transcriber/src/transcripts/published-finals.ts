import type { JetStreamClient } from '@nats-io/jetstream';
import type { Subjects } from '@calltx/events';
import { readTranscriptFinals } from '@calltx/nats';
import type { StoredSegment } from '../db/transcript-store.js';

/** Whether TRANSCRIPTS holds a final of a segment, under any Nats-Msg-Id (the segment's own or a reissue's). */
export class PublishedFinals {
  constructor(
    private readonly js: JetStreamClient,
    private readonly subjects: Subjects,
  ) {}

  async holds(segment: StoredSegment): Promise<boolean> {
    // A final is published after its audio ended.
    const finals = await readTranscriptFinals(
      this.js,
      this.subjects,
      segment.callSid,
      new Date(segment.audioEndAt),
    );
    return finals.some(
      (f) =>
        f.source === segment.source && f.speaker === segment.speaker && f.segmentId === segment.segmentId,
    );
  }
}
