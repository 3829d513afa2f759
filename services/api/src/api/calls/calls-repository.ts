import { toDatabaseError, type Pool } from '@calltx/db';
import {
  hashPhoneDigits,
  type RecordingStatus,
  type TranscriptSegment,
  type TranscriptWord,
} from '@calltx/events';
import { SEARCH_CONFIGS } from '../../read-model/search-config.js';

/**
 * Queries over the api's read model (read-model/migrations.ts), which the public events fill: calls, their
 * stream audio, recordings with their files, and final transcript segments.
 */

export type CallState = 'live' | 'ended';

export interface CallRow {
  callSid: string;
  startedAt: Date;
  endedAt: Date | null;
  state: CallState;
  status: string | null;
  agent: string | null;
  technician: string | null;
  durationMs: number | null;
  recordingStatus: RecordingStatus | 'none';
}

export interface ListedCall extends CallRow {
  /** The start time at Postgres precision (microseconds): the keyset cursor must not lose it. */
  startedKey: string;
  /** With a search: the call's best matching utterance. */
  match?: SearchMatch;
}

export interface SearchMatch {
  /** The call's rank: the best `ts_rank` among its utterances, as Postgres prints the float4 (exact). */
  rankKey: string;
  speaker: string;
  source: 'live' | 'recording';
  startMs: number;
  endMs: number;
  /** The utterance's text around the matched words, which are marked. */
  snippet: Array<{ text: string; highlight: boolean }>;
}

export interface CallListFilter {
  /** RFC 3339 times. */
  from?: string;
  to?: string;
  /** The technician's number (digits only): whole, or at least its last two digits (see numberMatch). */
  numberDigits?: string;
  state?: CallState;
  /** Full-text search over final transcripts (websearch syntax): ranks the calls, best first. */
  search?: string;
  /** Keyset position: the last call of the previous page (its rank too when searching). */
  after?: { rankKey?: string; startedKey: string; callSid: string };
  limit: number;
}

/** An utterance of the transcript export, with what its final carried beyond the text. */
export interface UtteranceRow extends SegmentRow {
  language: string | null;
  avgLogprob: number | null;
  noSpeechProb: number | null;
  segments: TranscriptSegment[] | null;
  words: TranscriptWord[] | null;
}

export interface SegmentRow {
  speaker: string;
  segmentId: string;
  source: 'live' | 'recording';
  sequence: number;
  startMs: number;
  endMs: number;
  text: string;
  modelId: string;
}

export interface RecordingRow {
  recordingSid: string;
  status: RecordingStatus;
  durationMs: number | null;
  channels: number | null;
  error: { source: string | null; code: string | null; message: string | null } | null;
  storedAt: Date | null;
  objects: Array<{ role: string; channel: number | null; key: string; bytes: number; durationMs: number }>;
}

export interface StreamFileRow {
  speaker: string;
  key: string;
  bytes: number;
  durationMs: number;
  gapFilledMs: number;
}

// A call row may come from a stream event before `call.started`: its start is the first time known.
/** Input of this many digits or more is taken for a whole number, found through its hash. */
const MIN_FULL_NUMBER_DIGITS = 7;

const STARTED = 'COALESCE(c.started_at, c.stream_started_at, c.first_event_at)';

const CALL_COLUMNS = `
  c.call_sid, c.agent_party, c.technician_party, c.agent_number_last2, c.technician_number_last2, ${STARTED} AS started, c.ended_at, c.stream_stopped_at,
  c.call_status, c.duration_ms,
  EXTRACT(EPOCH FROM (c.ended_at - ${STARTED})) * 1000 AS elapsed_ms,
  to_char(${STARTED} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_key,
  (SELECT r.status FROM api_recordings r WHERE r.call_sid = c.call_sid
    ORDER BY r.first_event_at DESC, r.recording_sid DESC LIMIT 1) AS recording_status`;

// Ended: Twilio reported a final status, or the media stream stopped.
const ENDED = '(c.ended_at IS NOT NULL OR c.stream_stopped_at IS NOT NULL)';

interface RawCall {
  call_sid: string;
  agent_party: string | null;
  technician_party: string | null;
  agent_number_last2: string | null;
  technician_number_last2: string | null;
  started: Date;
  ended_at: Date | null;
  stream_stopped_at: Date | null;
  call_status: string | null;
  duration_ms: number | null;
  elapsed_ms: string | null;
  started_key: string;
  recording_status: RecordingStatus | null;
}

/** A phone number known only by its hash shows as its last two digits behind an ellipsis: `…23`. */
const masked = (last2: string | null) => (last2 === null ? null : `…${last2}`);

const toCall = (row: RawCall): ListedCall => ({
  callSid: row.call_sid,
  startedAt: row.started,
  endedAt: row.ended_at ?? row.stream_stopped_at,
  state: row.ended_at || row.stream_stopped_at ? 'ended' : 'live',
  status: row.call_status,
  agent: row.agent_party ?? masked(row.agent_number_last2),
  technician: row.technician_party ?? masked(row.technician_number_last2),
  // The stored audio's length when there is some; else the time between start and end.
  durationMs:
    row.duration_ms ?? (row.elapsed_ms === null ? null : Math.max(0, Math.round(Number(row.elapsed_ms)))),
  recordingStatus: row.recording_status ?? 'none',
  startedKey: row.started_key,
});

interface RawSearchHit extends RawCall {
  rank_key: string;
  match_speaker: string;
  match_source: 'live' | 'recording';
  match_start_ms: number;
  match_end_ms: number;
  snippet: string;
}

// ts_headline marks matches with characters of Unicode's private use area, which transcripts do not hold: the
// snippet reaches clients as parts, never as markup to inject.
const MARK_START = '\uE000';
const MARK_END = '\uE001';
const HEADLINE_OPTIONS = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxWords=30, MinWords=12`;
/** Utterances this short are shown whole; longer ones around their matches. */
const WHOLE_SNIPPET_CHARS = 240;

function snippetParts(headline: string): Array<{ text: string; highlight: boolean }> {
  const parts: Array<{ text: string; highlight: boolean }> = [];
  for (const [i, text] of headline.split(new RegExp(`${MARK_START}|${MARK_END}`)).entries()) {
    if (text) parts.push({ text, highlight: i % 2 === 1 });
  }
  return parts;
}

export class CallsRepository {
  /** @param numberHashKey CALLER_NUMBER_HASH_KEY, the gateway's: whole numbers are found through their hash. */
  constructor(
    private readonly pool: Pool,
    private readonly numberHashKey: string,
  ) {}

  /**
   * Newest first, keyset-paginated on (start, CallSid). With a search, only calls with a matching final
   * utterance, best first: keyset-paginated on (rank, start, CallSid), the rank being the best `ts_rank` among
   * the call's utterances. Ranks are float4 and are compared as Postgres prints them, so a page ends and the next
   * begins exactly; a call whose transcript grows between two pages may move (its rank changes).
   */
  async list(filter: CallListFilter): Promise<ListedCall[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (filter.from) where.push(`${STARTED} >= ${param(filter.from)}::timestamptz`);
    if (filter.to) where.push(`${STARTED} < ${param(filter.to)}::timestamptz`);
    if (filter.numberDigits) where.push(this.numberMatch(filter.numberDigits, param));
    if (filter.state) where.push(filter.state === 'ended' ? ENDED : `NOT ${ENDED}`);
    if (filter.search === undefined) {
      if (filter.after) {
        where.push(
          `(${STARTED}, c.call_sid) < (${param(filter.after.startedKey)}::timestamptz, ${param(filter.after.callSid)})`,
        );
      }
      const sql = `SELECT ${CALL_COLUMNS} FROM api_calls c
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ${STARTED} DESC, c.call_sid DESC LIMIT ${param(filter.limit)}`;
      return (await this.query<RawCall>('list calls', sql, params)).map(toCall);
    }

    const query = param(filter.search);
    const tsquery = SEARCH_CONFIGS.map((config) => `websearch_to_tsquery('${config}', ${query})`).join(
      ' || ',
    );
    if (filter.after) {
      where.push(
        `(h.rank, ${STARTED}, c.call_sid) < (${param(filter.after.rankKey ?? '0')}::real, ` +
          `${param(filter.after.startedKey)}::timestamptz, ${param(filter.after.callSid)})`,
      );
    }
    // Each utterance is matched and ranked with the query parsed in its own configuration. That is a function of
    // the row, which no index serves, so the OR of the query in every configuration (a superset: it contains the
    // row's own) lets the GIN index find the candidates first. Each call keeps its best utterance; snippets are
    // made for the page only.
    const sql = `
      WITH q AS (SELECT ${tsquery} AS candidates),
      hits AS (
        SELECT DISTINCT ON (s.call_sid) s.call_sid, ts_rank(s.search, websearch_to_tsquery(s.search_config, ${query})) AS rank,
               s.speaker, s.source, s.start_ms, s.end_ms, s.text, s.search_config
          FROM api_transcript_segments s, q
         WHERE s.search @@ q.candidates AND s.search @@ websearch_to_tsquery(s.search_config, ${query})
         ORDER BY s.call_sid, rank DESC, s.start_ms, s.speaker, s.source
      ),
      page AS (
        SELECT ${CALL_COLUMNS}, h.rank, h.rank::text AS rank_key, h.speaker AS match_speaker,
               h.source AS match_source, h.start_ms::float8 AS match_start_ms, h.end_ms::float8 AS match_end_ms,
               h.text AS match_text, h.search_config AS match_config
          FROM api_calls c JOIN hits h ON h.call_sid = c.call_sid
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY h.rank DESC, ${STARTED} DESC, c.call_sid DESC LIMIT ${param(filter.limit)}
      )
      SELECT page.*, ts_headline(page.match_config, page.match_text,
               websearch_to_tsquery(page.match_config, ${query}),
               CASE WHEN length(page.match_text) <= ${WHOLE_SNIPPET_CHARS} THEN ${param(`${HEADLINE_OPTIONS}, HighlightAll=true`)}
                    ELSE ${param(HEADLINE_OPTIONS)} END) AS snippet
        FROM page
       ORDER BY page.rank DESC, page.started DESC, page.call_sid DESC`;
    const rows = await this.query<RawSearchHit>('search calls', sql, params);
    return rows.map((row) => ({
      ...toCall(row),
      match: {
        rankKey: row.rank_key,
        speaker: row.match_speaker,
        source: row.match_source,
        startMs: row.match_start_ms,
        endMs: row.match_end_ms,
        snippet: snippetParts(row.snippet),
      },
    }));
  }

  async get(callSid: string): Promise<CallRow | null> {
    const rows = await this.query<RawCall>(
      'get call',
      `SELECT ${CALL_COLUMNS} FROM api_calls c WHERE c.call_sid = $1`,
      [callSid],
    );
    return rows[0] ? toCall(rows[0]) : null;
  }

  /** Final transcript segments, each source in conversation order. */
  async segments(callSid: string): Promise<SegmentRow[]> {
    const rows = await this.query<RawSegment>(
      'get transcript',
      `SELECT speaker, segment_id, source, sequence, start_ms::float8 AS start_ms, end_ms::float8 AS end_ms, text, model_id
         FROM api_transcript_segments WHERE call_sid = $1
         ORDER BY source, start_ms, speaker, sequence`,
      [callSid],
    );
    return rows.map(toSegment);
  }

  /** Final utterances of every source, with their detail, in time order (both speakers merged). */
  async utterances(callSid: string): Promise<UtteranceRow[]> {
    const rows = await this.query<
      RawSegment & {
        language: string | null;
        avg_logprob: number | null;
        no_speech_prob: number | null;
        whisper_segments: TranscriptSegment[] | null;
        words: TranscriptWord[] | null;
      }
    >(
      'get transcript export',
      `SELECT speaker, segment_id, source, sequence, start_ms::float8 AS start_ms, end_ms::float8 AS end_ms, text,
              model_id, language, avg_logprob, no_speech_prob, whisper_segments, words
         FROM api_transcript_segments WHERE call_sid = $1
         ORDER BY source, start_ms, end_ms, speaker, sequence`,
      [callSid],
    );
    return rows.map((r) => ({
      ...toSegment(r),
      language: r.language,
      avgLogprob: r.avg_logprob,
      noSpeechProb: r.no_speech_prob,
      segments: r.whisper_segments,
      words: r.words,
    }));
  }

  async recordings(callSid: string): Promise<RecordingRow[]> {
    const [recordings, objects] = await Promise.all([
      this.query<{
        recording_sid: string;
        status: RecordingStatus;
        duration_ms: number | null;
        twilio_duration_seconds: number | null;
        channels: number | null;
        error_source: string | null;
        error_code: string | null;
        error_message: string | null;
        stored_at: Date | null;
      }>(
        'get recordings',
        `SELECT recording_sid, status, duration_ms::float8 AS duration_ms, twilio_duration_seconds, channels,
                error_source, error_code, error_message, stored_at
           FROM api_recordings WHERE call_sid = $1 ORDER BY first_event_at, recording_sid`,
        [callSid],
      ),
      this.query<{
        recording_sid: string;
        role: string;
        channel: number | null;
        object_key: string;
        bytes: number;
        duration_ms: number;
      }>(
        'get recording files',
        `SELECT o.recording_sid, o.role, o.channel, o.object_key, o.bytes::float8 AS bytes, o.duration_ms::float8 AS duration_ms
           FROM api_recording_objects o JOIN api_recordings r USING (recording_sid)
          WHERE r.call_sid = $1 ORDER BY o.channel NULLS FIRST, o.role`,
        [callSid],
      ),
    ]);
    return recordings.map((r) => ({
      recordingSid: r.recording_sid,
      status: r.status,
      durationMs:
        r.duration_ms ?? (r.twilio_duration_seconds === null ? null : r.twilio_duration_seconds * 1000),
      channels: r.channels,
      error:
        r.error_source || r.error_code || r.error_message
          ? { source: r.error_source, code: r.error_code, message: r.error_message }
          : null,
      storedAt: r.stored_at,
      objects: objects
        .filter((o) => o.recording_sid === r.recording_sid)
        .map((o) => ({
          role: o.role,
          channel: o.channel,
          key: o.object_key,
          bytes: o.bytes,
          durationMs: o.duration_ms,
        })),
    }));
  }

  /** The audio as streamed live, one 8 kHz WAV per speaker (what there is when the recording is absent). */
  async streamFiles(callSid: string): Promise<StreamFileRow[]> {
    const rows = await this.query<{
      speaker: string;
      object_key: string;
      bytes: number;
      duration_ms: number;
      gap_filled_ms: number;
    }>(
      'get stream files',
      `SELECT speaker, object_key, bytes::float8 AS bytes, duration_ms, gap_filled_ms
         FROM api_call_stream_files WHERE call_sid = $1 AND sample_rate = 8000 ORDER BY speaker`,
      [callSid],
    );
    return rows.map((r) => ({
      speaker: r.speaker,
      key: r.object_key,
      bytes: r.bytes,
      durationMs: r.duration_ms,
      gapFilledMs: r.gap_filled_ms,
    }));
  }

  /**
   * A number stored in clear (calls from before numbers were hashed) matches on any digits it contains. A hashed
   * one matches a full number (7 digits or more, with its country code) through the keyed hash, and shorter input
   * on its last two digits only: a weaker filter, documented in docs/privacy.md.
   */
  private numberMatch(digits: string, param: (value: unknown) => string): string {
    const clear = `regexp_replace(COALESCE(c.technician_party, ''), '[^0-9]', '', 'g') LIKE ${param(`%${digits}%`)}`;
    const hashed =
      digits.length >= MIN_FULL_NUMBER_DIGITS
        ? `c.technician_number_hash = ${param(hashPhoneDigits(digits, this.numberHashKey))}`
        : `c.technician_number_last2 = ${param(digits.slice(-2))}`;
    return `(${clear} OR ${hashed})`;
  }

  private async query<R extends object>(operation: string, sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R & Record<string, unknown>>(sql, params)).rows;
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }
}

/** A final utterance as `api_transcript_segments` holds it, the columns every transcript read selects. */
interface RawSegment {
  speaker: string;
  segment_id: string;
  source: 'live' | 'recording';
  sequence: number;
  start_ms: number;
  end_ms: number;
  text: string;
  model_id: string;
}

function toSegment(r: RawSegment): SegmentRow {
  return {
    speaker: r.speaker,
    segmentId: r.segment_id,
    source: r.source,
    sequence: r.sequence,
    startMs: r.start_ms,
    endMs: r.end_ms,
    text: r.text,
    modelId: r.model_id,
  };
}
