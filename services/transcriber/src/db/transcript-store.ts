import type pg from 'pg';
import { DatabaseError, toDatabaseError } from '@calltx/db';
import type { TranscriptRedaction } from '@calltx/events';
import type { RecognisedWord, TimedText } from '../engine/recognizer.js';
import { CallErasedError } from '../erasure/call-erasure.js';

export type TranscriptSource = 'live' | 'recording';

/** Identifies one final transcript: an utterance of a speaker, transcribed live or from the recording. */
export interface SegmentKey {
  callSid: string;
  speaker: string;
  segmentId: string;
  source: TranscriptSource;
}

export interface StoredSegment extends SegmentKey {
  sequence: number;
  startMs: number;
  endMs: number;
  text: string;
  modelId: string;
  /** ISO time the audio ended (live) or the job was queued (recording): the origin of latency. */
  audioEndAt: string;
  inferenceMs: number;
  /** Null on rows stored before the transcriber kept them. Times in ms of call time. */
  language: string | null;
  avgLogprob: number | null;
  noSpeechProb: number | null;
  segments: TimedText[] | null;
  /** Null also when the model could not time words. */
  words: RecognisedWord[] | null;
  /** What TRANSCRIPT_REDACT replaced in the text, segments and words; null when redaction was off. */
  redactions: TranscriptRedaction[] | null;
}

interface Row {
  call_sid: string;
  speaker: string;
  segment_id: string;
  source: TranscriptSource;
  sequence: number;
  start_ms: string;
  end_ms: string;
  text: string;
  model_id: string;
  audio_end_at: Date;
  inference_ms: number;
  language: string | null;
  avg_logprob: number | null;
  no_speech_prob: number | null;
  segments: TimedText[] | null;
  words: RecognisedWord[] | null;
  redactions: TranscriptRedaction[] | null;
}

const COLUMNS =
  'call_sid, speaker, segment_id, source, sequence, start_ms, end_ms, text, model_id, audio_end_at, inference_ms, ' +
  'language, avg_logprob, no_speech_prob, segments, words, redactions';

const fromRow = (row: Row): StoredSegment => ({
  callSid: row.call_sid,
  speaker: row.speaker,
  segmentId: row.segment_id,
  source: row.source,
  sequence: row.sequence,
  startMs: Number(row.start_ms),
  endMs: Number(row.end_ms),
  text: row.text,
  modelId: row.model_id,
  audioEndAt: row.audio_end_at.toISOString(),
  inferenceMs: row.inference_ms,
  language: row.language,
  avgLogprob: row.avg_logprob,
  noSpeechProb: row.no_speech_prob,
  segments: row.segments,
  words: row.words,
  redactions: row.redactions,
});

/**
 * Final transcripts in Postgres, one row per (call, speaker, segment, source) whatever the redeliveries: the
 * first stored text wins, and every later attempt publishes that same row.
 */
export class TranscriptStore {
  constructor(private readonly pool: pg.Pool) {}

  async find(key: SegmentKey): Promise<StoredSegment | null> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${COLUMNS} FROM transcript_segments
          WHERE call_sid = $1 AND speaker = $2 AND segment_id = $3 AND source = $4`,
        [key.callSid, key.speaker, key.segmentId, key.source],
      );
      return rows[0] ? fromRow(rows[0]) : null;
    } catch (error) {
      throw toDatabaseError('find transcript segment', error);
    }
  }

  /**
   * The final transcript of `key`: the stored one (`found`), else what `transcribe` makes, inserted. Transcribing
   * only what is not stored yet keeps a redelivery from running the model again.
   */
  async findOrTranscribe(
    key: SegmentKey,
    transcribe: () => Promise<Omit<StoredSegment, keyof SegmentKey>>,
  ): Promise<{ stored: StoredSegment; found: boolean }> {
    const existing = await this.find(key);
    if (existing) return { stored: existing, found: true };
    const { stored } = await this.insert({ ...key, ...(await transcribe()) });
    return { stored, found: false };
  }

  /** Stores the segment unless it is already there; returns the row that is stored either way. */
  async insert(segment: StoredSegment): Promise<{ stored: StoredSegment; inserted: boolean }> {
    try {
      const { rows } = await this.pool.query<Row>(
        // Not for a call erased while it was being transcribed.
        `INSERT INTO transcript_segments (${COLUMNS})
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17
          WHERE NOT EXISTS (SELECT 1 FROM transcriber_erased_calls WHERE call_sid = $1)
         ON CONFLICT (call_sid, speaker, segment_id, source) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          segment.callSid,
          segment.speaker,
          segment.segmentId,
          segment.source,
          segment.sequence,
          segment.startMs,
          segment.endMs,
          segment.text,
          segment.modelId,
          segment.audioEndAt,
          segment.inferenceMs,
          segment.language,
          segment.avgLogprob,
          segment.noSpeechProb,
          segment.segments === null ? null : JSON.stringify(segment.segments),
          segment.words === null ? null : JSON.stringify(segment.words),
          segment.redactions === null ? null : JSON.stringify(segment.redactions),
        ],
      );
      if (rows[0]) return { stored: fromRow(rows[0]), inserted: true };
    } catch (error) {
      throw toDatabaseError('store transcript segment', error);
    }
    // Another replica stored it first (a redelivery raced the original): its row is the one to publish.
    const existing = await this.find(segment);
    if (!existing && (await this.erased(segment.callSid))) throw new CallErasedError(segment.callSid);
    if (!existing) {
      throw new DatabaseError('store transcript segment', undefined, {
        message: 'the conflicting row vanished',
        retryable: true,
      });
    }
    return { stored: existing, inserted: false };
  }

  private async erased(callSid: string): Promise<boolean> {
    try {
      const { rowCount } = await this.pool.query(
        'SELECT 1 FROM transcriber_erased_calls WHERE call_sid = $1',
        [callSid],
      );
      return (rowCount ?? 0) > 0;
    } catch (error) {
      throw toDatabaseError('read erased call', error);
    }
  }

  /** A call's finals of one speaker and source, in utterance order. */
  async list(callSid: string, speaker: string, source: TranscriptSource): Promise<StoredSegment[]> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${COLUMNS} FROM transcript_segments
          WHERE call_sid = $1 AND speaker = $2 AND source = $3 ORDER BY sequence`,
        [callSid, speaker, source],
      );
      return rows.map(fromRow);
    } catch (error) {
      throw toDatabaseError('list transcript segments', error);
    }
  }
}
