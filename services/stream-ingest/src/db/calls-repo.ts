import { CalltxError, type PartyNumber, type Track } from '@calltx/events';
import { toDatabaseError, withTransaction, type Pool, type PoolClient } from '@calltx/db';
import type { CallWavs } from '../finalize/call-wavs.js';
import type { LiveProgress, PublishedFinal } from '../live/speech-sink.js';
import type { LiveFinalsAuditSettings } from './live-finals-audits.js';

export type IngestState = 'none' | 'active' | 'stored' | 'finalized';
type PerTrack = Record<Track, number>;

/** What the ingest needs of a call (personal data stays in the database). */
export interface CallRow {
  callSid: string;
  ingestState: IngestState;
  tracks: Track[];
  speakers: Record<Track, string>;
  streamStoppedAt: Date | null;
  endedAt: Date | null;
  framesExpected: PerTrack | null;
  framesLost: PerTrack | null;
  lastTimestampMs: PerTrack | null;
  /** The generation of the call's latest per-call MEDIA consumer (0: none yet, or the name before generations). */
  mediaConsumerGeneration: number;
}

export interface StreamFileRow {
  speaker: string;
  sampleRate: 8000 | 16000;
  key: string;
  bytes: number;
  durationMs: number;
  sha256: string;
  gapFilledMs: number;
  /** Redaction spans of the speaker covered in the stored content. */
  redactionsApplied: number;
}

/** A redacted span of a live final, in call time. */
export interface AudioRedactionSpan {
  kind: string;
  startMs: number;
  endMs: number;
}

const CALL_COLUMNS = `call_sid, ingest_state, tracks, speakers, stream_stopped_at, ended_at, frames_expected, frames_lost, last_timestamp_ms, media_consumer_generation`;

interface RawCall {
  call_sid: string;
  ingest_state: IngestState;
  tracks: Track[] | null;
  speakers: Record<Track, string> | null;
  stream_stopped_at: Date | null;
  ended_at: Date | null;
  frames_expected: PerTrack | null;
  frames_lost: PerTrack | null;
  last_timestamp_ms: PerTrack | null;
  media_consumer_generation: number;
}

const toCall = (row: RawCall): CallRow => ({
  callSid: row.call_sid,
  ingestState: row.ingest_state,
  tracks: row.tracks ?? [],
  speakers: row.speakers ?? { inbound: 'inbound', outbound: 'outbound' },
  streamStoppedAt: row.stream_stopped_at,
  endedAt: row.ended_at,
  framesExpected: row.frames_expected,
  framesLost: row.frames_lost,
  lastTimestampMs: row.last_timestamp_ms,
  mediaConsumerGeneration: row.media_consumer_generation,
});

export interface UnreadablePartRow {
  callSid: string;
  speaker: string;
  /** Where it was stored, and goes back to once readable. */
  partKey: string;
  asideKey: string;
  /** Frames its name spans: what the WAVs lack while it is unreadable. */
  frames: number;
}

/**
 * The `calls` and `call_stream_files` tables. Events arrive in any order and more than once (a shared consumer,
 * redeliveries), so every write is an upsert that touches only the columns its event owns.
 */
export class CallsRepo {
  constructor(private readonly pool: Pool) {}

  /** Postgres's errors as DatabaseErrors: a value it refuses then fails for good instead of being retried. */
  private async query<R extends object>(
    operation: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<{ rows: R[] }> {
    try {
      return await this.pool.query<R & Record<string, unknown>>(sql, params);
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }

  /**
   * A phone number arrives as a keyed hash and its last two digits only (the gateway never publishes it in clear
   * on `calls.v1`): it is stored so; a party given in clear (the agent's `client:` identity) is stored as given. An
   * empty party leaves the column alone: its clear form may have come first, from `parties.v1` (`callParties`).
   */
  async callStarted(e: {
    callSid: string;
    at: string;
    accountSid: string;
    from: string;
    to: string;
    fromNumber?: PartyNumber | undefined;
    toNumber?: PartyNumber | undefined;
    direction: string;
  }): Promise<void> {
    // The agent calls out from the browser (From: client identity) to the technician's number (To).
    await this.query(
      'store call start',
      `INSERT INTO calls (call_sid, account_sid, direction, agent_party, technician_party, started_at,
         agent_number_hash, agent_number_last2, technician_number_hash, technician_number_last2)
       VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, $7, $8, $9, $10)
       ON CONFLICT (call_sid) DO UPDATE SET account_sid = $2, direction = $3,
         agent_party = COALESCE(NULLIF($4, ''), calls.agent_party),
         technician_party = COALESCE(NULLIF($5, ''), calls.technician_party), started_at = $6, agent_number_hash = $7, agent_number_last2 = $8,
         technician_number_hash = $9, technician_number_last2 = $10, updated_at = now()`,
      [
        e.callSid,
        e.accountSid,
        e.direction,
        e.from,
        e.to,
        e.at,
        e.fromNumber?.hash ?? null,
        e.fromNumber?.last2 ?? null,
        e.toNumber?.hash ?? null,
        e.toNumber?.last2 ?? null,
      ],
    );
  }

  /**
   * The parties as given, in clear: published on the internal `parties.v1` only where the operator keeps numbers
   * (STORE_CALLER_NUMBERS). Either this or the call's start may come first; both upsert.
   */
  async callParties(e: { callSid: string; from: string; to: string }): Promise<void> {
    // The agent calls out from the browser (From) to the technician's number (To), as in callStarted.
    await this.query(
      'store call parties',
      `INSERT INTO calls (call_sid, agent_party, technician_party) VALUES ($1, NULLIF($2, ''), NULLIF($3, ''))
       ON CONFLICT (call_sid) DO UPDATE SET agent_party = NULLIF($2, ''), technician_party = NULLIF($3, ''),
         updated_at = now()`,
      [e.callSid, e.from, e.to],
    );
  }

  /** Records the stream and makes the call `active` unless it is past that; returns the row. */
  async streamStarted(e: {
    callSid: string;
    at: string;
    streamSid: string;
    tracks: Track[];
    speakers: Record<Track, string>;
  }): Promise<CallRow> {
    const { rows } = await this.query<RawCall>(
      'store stream start',
      `INSERT INTO calls (call_sid, stream_sid, stream_started_at, tracks, speakers, ingest_state)
       VALUES ($1, $2, $3, $4, $5, 'active')
       ON CONFLICT (call_sid) DO UPDATE SET stream_sid = $2, stream_started_at = $3, tracks = $4, speakers = $5,
         ingest_state = CASE WHEN calls.ingest_state = 'none' THEN 'active' ELSE calls.ingest_state END, updated_at = now()
       RETURNING ${CALL_COLUMNS}`,
      [e.callSid, e.streamSid, e.at, e.tracks, JSON.stringify(e.speakers)],
    );
    return toCall(rows[0]!);
  }

  async streamStopped(e: {
    callSid: string;
    at: string;
    reason: string;
    framesReceived: PerTrack;
    framesLost: PerTrack;
    lastTimestampMs: PerTrack;
  }): Promise<void> {
    const expected = {
      inbound: e.framesReceived.inbound - e.framesLost.inbound,
      outbound: e.framesReceived.outbound - e.framesLost.outbound,
    };
    await this.query(
      'store stream stop',
      `INSERT INTO calls (call_sid, stream_stopped_at, stop_reason, frames_received, frames_lost, frames_expected, last_timestamp_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (call_sid) DO UPDATE SET stream_stopped_at = $2, stop_reason = $3, frames_received = $4, frames_lost = $5,
         frames_expected = $6, last_timestamp_ms = $7, updated_at = now()`,
      [
        e.callSid,
        e.at,
        e.reason,
        JSON.stringify(e.framesReceived),
        JSON.stringify(e.framesLost),
        JSON.stringify(expected),
        JSON.stringify(e.lastTimestampMs),
      ],
    );
  }

  async callEnded(e: { callSid: string; at: string; status: string }): Promise<void> {
    await this.query(
      'store call end',
      `INSERT INTO calls (call_sid, ended_at, call_status) VALUES ($1, $2, $3)
       ON CONFLICT (call_sid) DO UPDATE SET ended_at = $2, call_status = $3, updated_at = now()`,
      [e.callSid, e.at, e.status],
    );
  }

  async get(callSid: string): Promise<CallRow | null> {
    const { rows } = await this.query<RawCall>(
      'read call',
      `SELECT ${CALL_COLUMNS} FROM calls WHERE call_sid = $1`,
      [callSid],
    );
    return rows[0] ? toCall(rows[0]) : null;
  }

  /** Calls some replica must own: streaming, awaiting finalize, or stored but not yet announced. */
  async open(): Promise<CallRow[]> {
    const { rows } = await this.query<RawCall>(
      'list open calls',
      `SELECT ${CALL_COLUMNS} FROM calls WHERE ingest_state IN ('active', 'stored') ORDER BY stream_started_at NULLS LAST`,
    );
    return rows.map(toCall);
  }

  /**
   * Records the final WAVs and moves the call to `stored`, in one transaction. Returns false when the call was
   * already past `active` (a re-run), so counters are bumped once per call.
   */
  async markStored(
    callSid: string,
    wavs: CallWavs,
    trigger: string,
    /** Schedules the call's live-finals audit (with the transition, so a crash can't lose it). */
    audit?: LiveFinalsAuditSettings,
  ): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      await saveFiles(client, callSid, wavs);
      const { rowCount } = await client.query(
        `UPDATE calls SET ingest_state = 'stored', finalize_trigger = $2, duration_ms = $3, gap_filled_ms = $4, stored_at = now(),
           updated_at = now()
         WHERE call_sid = $1 AND ingest_state = 'active'`,
        [callSid, trigger, wavs.durationMs, JSON.stringify(gapsOf(wavs))],
      );
      if (rowCount === 1 && audit) {
        await client.query(
          `INSERT INTO call_live_finals_audits (call_sid, due_at, give_up_at)
           VALUES ($1, now() + $2 * interval '1 millisecond', now() + $3 * interval '1 millisecond')
           ON CONFLICT DO NOTHING`,
          [callSid, audit.afterMs, audit.giveUpMs],
        );
      }
      return rowCount === 1;
    });
  }

  /** Records WAVs written again for a stored or finalized call (recovered frames), and which parts they recovered. */
  async replaceFiles(callSid: string, wavs: CallWavs, recoveredParts: readonly string[]): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      await saveFiles(client, callSid, wavs);
      await client.query(
        `UPDATE calls SET duration_ms = $2, gap_filled_ms = $3, updated_at = now() WHERE call_sid = $1`,
        [callSid, wavs.durationMs, JSON.stringify(gapsOf(wavs))],
      );
      await client.query(
        `UPDATE call_unreadable_parts SET recovered_at = now() WHERE call_sid = $1 AND part_key = ANY($2)`,
        [callSid, recoveredParts],
      );
    });
  }

  /** Lists a part set aside as unreadable; false when it was listed already (a re-run). */
  async recordUnreadablePart(part: UnreadablePartRow): Promise<boolean> {
    const { rows } = await this.query(
      'record unreadable part',
      `INSERT INTO call_unreadable_parts (call_sid, part_key, speaker, aside_key, frames) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (call_sid, part_key) DO NOTHING RETURNING part_key`,
      [part.callSid, part.partKey, part.speaker, part.asideKey, part.frames],
    );
    return rows.length === 1;
  }

  /**
   * Gives up on set-aside parts still unreadable `olderThanMs` after they were set aside; returns them. Each is
   * returned once, to the one replica whose update took it, however many run this at once.
   */
  async abandonUnreadableParts(olderThanMs: number): Promise<UnreadablePartRow[]> {
    const { rows } = await this.query<RawUnreadablePart>(
      'abandon unreadable parts',
      `UPDATE call_unreadable_parts SET abandoned_at = now()
       WHERE recovered_at IS NULL AND abandoned_at IS NULL
         AND set_aside_at < now() - $1 * interval '1 millisecond'
       RETURNING call_sid, part_key, speaker, aside_key, frames`,
      [olderThanMs],
    );
    return rows.map(toUnreadablePart);
  }

  /**
   * Parts set aside and not recovered: of one call (abandoned ones included: the call's parts are kept while
   * any is there), or of every finalized call, for the sweep to retry (abandoned ones left out).
   */
  async unreadableParts(callSid?: string): Promise<UnreadablePartRow[]> {
    const { rows } = await this.query<RawUnreadablePart>(
      'list unreadable parts',
      `SELECT p.call_sid, p.part_key, p.speaker, p.aside_key, p.frames
       FROM call_unreadable_parts p JOIN calls c USING (call_sid)
       WHERE p.recovered_at IS NULL
         AND ($1::text IS NULL AND c.ingest_state = 'finalized' AND p.abandoned_at IS NULL OR p.call_sid = $1)
       ORDER BY p.call_sid, p.part_key`,
      [callSid ?? null],
    );
    return rows.map(toUnreadablePart);
  }

  /**
   * Records a published live final for the audit (every one, once) and as the speaker's progress, unless a later
   * final of the speaker is recorded already.
   */
  async recordLiveFinal(callSid: string, speaker: string, final: PublishedFinal): Promise<void> {
    await this.query(
      'record live final',
      `WITH recorded AS (
         INSERT INTO call_live_finals (call_sid, speaker, sequence, start_ms, end_ms, path_start_ms)
         VALUES ($1, $2, $3, $5, $4, $6) ON CONFLICT DO NOTHING
       )
       INSERT INTO call_live_progress (call_sid, speaker, final_sequence, final_end_ms) VALUES ($1, $2, $3, $4)
       ON CONFLICT (call_sid, speaker) DO UPDATE SET final_sequence = $3, final_end_ms = $4, updated_at = now()
       WHERE call_live_progress.final_sequence < $3`,
      [callSid, speaker, final.sequence, final.endMs, final.startMs, final.pathStartMs],
    );
  }

  /** The last live final published per speaker. */
  async liveProgress(callSid: string): Promise<Map<string, LiveProgress>> {
    const { rows } = await this.query<{ speaker: string; final_sequence: number; final_end_ms: number }>(
      'read live progress',
      `SELECT speaker, final_sequence, final_end_ms FROM call_live_progress WHERE call_sid = $1`,
      [callSid],
    );
    return new Map(rows.map((r) => [r.speaker, { sequence: r.final_sequence, endMs: r.final_end_ms }]));
  }

  /** Takes the next generation for the call's MEDIA consumer (recorded before the consumer is created). */
  async nextMediaConsumerGeneration(callSid: string): Promise<number> {
    const { rows } = await this.query<{ media_consumer_generation: number }>(
      'take media consumer generation',
      `UPDATE calls SET media_consumer_generation = media_consumer_generation + 1, updated_at = now()
       WHERE call_sid = $1 RETURNING media_consumer_generation`,
      [callSid],
    );
    const [row] = rows;
    if (!row) throw new CalltxError(`no call ${callSid} to take a media consumer generation for`);
    return row.media_consumer_generation;
  }

  async markFinalized(callSid: string): Promise<void> {
    await this.query(
      'mark call finalized',
      `UPDATE calls SET ingest_state = 'finalized', finalized_at = now(), updated_at = now()
       WHERE call_sid = $1 AND ingest_state IN ('active', 'stored')`,
      [callSid],
    );
  }

  async files(callSid: string): Promise<StreamFileRow[]> {
    const { rows } = await this.query<{
      speaker: string;
      sample_rate: 8000 | 16000;
      object_key: string;
      bytes: string;
      duration_ms: number;
      sha256: string;
      gap_filled_ms: number;
      redactions_applied: number;
    }>(
      'list stream files',
      `SELECT speaker, sample_rate, object_key, bytes, duration_ms, sha256, gap_filled_ms, redactions_applied
       FROM call_stream_files WHERE call_sid = $1 ORDER BY speaker, sample_rate`,
      [callSid],
    );
    return rows.map((r) => ({
      speaker: r.speaker,
      sampleRate: r.sample_rate,
      key: r.object_key,
      bytes: Number(r.bytes),
      durationMs: r.duration_ms,
      sha256: r.sha256,
      gapFilledMs: r.gap_filled_ms,
      redactionsApplied: r.redactions_applied,
    }));
  }

  /** Records a live final's redacted spans (a repeat changes nothing). */
  async addRedactions(callSid: string, speaker: string, spans: readonly AudioRedactionSpan[]): Promise<void> {
    await this.query(
      'record audio redactions',
      `INSERT INTO call_audio_redactions (call_sid, speaker, start_ms, end_ms, kind)
       SELECT $1, $2, s.start_ms, s.end_ms, s.kind
         FROM unnest($3::int[], $4::int[], $5::text[]) AS s (start_ms, end_ms, kind)
       ON CONFLICT DO NOTHING`,
      [callSid, speaker, spans.map((s) => s.startMs), spans.map((s) => s.endMs), spans.map((s) => s.kind)],
    );
  }

  /** Every redacted span of the call, by speaker. */
  async redactions(callSid: string): Promise<Map<string, AudioRedactionSpan[]>> {
    const { rows } = await this.query<{ speaker: string; start_ms: number; end_ms: number; kind: string }>(
      'read audio redactions',
      `SELECT speaker, start_ms, end_ms, kind FROM call_audio_redactions WHERE call_sid = $1
       ORDER BY speaker, start_ms, end_ms`,
      [callSid],
    );
    const bySpeaker = new Map<string, AudioRedactionSpan[]>();
    for (const r of rows) {
      const spans = bySpeaker.get(r.speaker) ?? [];
      spans.push({ kind: r.kind, startMs: r.start_ms, endMs: r.end_ms });
      bySpeaker.set(r.speaker, spans);
    }
    return bySpeaker;
  }

  /** Records a stream WAV rewritten with `applied` spans covered. */
  async fileRedacted(
    callSid: string,
    file: Pick<StreamFileRow, 'speaker' | 'sampleRate'>,
    rewritten: { bytes: number; sha256: string },
    applied: number,
  ): Promise<void> {
    await this.query(
      'record redacted stream file',
      `UPDATE call_stream_files SET bytes = $4, sha256 = $5, redactions_applied = $6
       WHERE call_sid = $1 AND speaker = $2 AND sample_rate = $3`,
      [callSid, file.speaker, file.sampleRate, rewritten.bytes, rewritten.sha256, applied],
    );
  }
}

const gapsOf = (wavs: CallWavs) => Object.fromEntries(wavs.speakers.map((s) => [s.speaker, s.gapFilledMs]));

async function saveFiles(client: PoolClient, callSid: string, wavs: CallWavs): Promise<void> {
  for (const s of wavs.speakers) {
    for (const wav of [s.wav8k, s.wav16k]) {
      await client.query(
        `INSERT INTO call_stream_files (call_sid, speaker, sample_rate, object_key, bytes, duration_ms, sha256, gap_filled_ms, frames)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (call_sid, speaker, sample_rate) DO UPDATE SET object_key = $4, bytes = $5, duration_ms = $6,
           sha256 = $7, gap_filled_ms = $8, frames = $9, redactions_applied = 0, stored_at = now()`,
        [
          callSid,
          s.speaker,
          wav.sampleRate,
          wav.key,
          wav.bytes,
          wav.durationMs,
          wav.sha256,
          s.gapFilledMs,
          s.framesPlaced,
        ],
      );
    }
  }
}

interface RawUnreadablePart {
  call_sid: string;
  part_key: string;
  speaker: string;
  aside_key: string;
  frames: number;
}

const toUnreadablePart = (r: RawUnreadablePart): UnreadablePartRow => ({
  callSid: r.call_sid,
  partKey: r.part_key,
  speaker: r.speaker,
  asideKey: r.aside_key,
  frames: r.frames,
});
