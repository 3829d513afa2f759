import { toDatabaseError, withTransaction, type Pool } from '@calltx/db';
import { type CallEvent, type RecordingEvent, type TranscriptEvent } from '@calltx/events';
import { type CallParties } from '@calltx/events/internal';
import { forgetCallRows, isErasing } from '../erasure/erasures-repository.js';
import { searchConfigFor } from './search-config.js';

/**
 * Applies the public events to the read model. Each write is an upsert keyed by the event's natural ids that
 * touches only the columns its event owns, so a redelivered or replayed event changes nothing, and a replay
 * from the start rebuilds the same rows. The rules mirror what the owning services do with the same events.
 */
export class ReadModelProjector {
  constructor(private readonly pool: Pool) {}

  async call(event: CallEvent): Promise<void> {
    if (event.type === 'call.erased.v1') return this.forget(event.callSid);
    if (await isErasing(this.pool, event.callSid)) return;
    switch (event.type) {
      case 'call.started.v1': {
        // The agent calls out from the browser (From: client identity) to the technician's number (To). A phone
        // number comes as a keyed hash and its last two digits, its clear field empty: an empty party leaves its
        // column alone, as the clear form may have come first, from parties.v1 (`parties`).
        const clear = (
          [
            ['agent_party', event.from],
            ['technician_party', event.to],
          ] as const
        ).filter(([, value]) => value !== '');
        return this.upsertCall(
          'project call start',
          event,
          [
            ...clear.map(([column]) => column),
            'agent_number_hash',
            'agent_number_last2',
            'technician_number_hash',
            'technician_number_last2',
            'started_at',
          ],
          [
            ...clear.map(([, value]) => value),
            event.fromNumber?.hash ?? null,
            event.fromNumber?.last2 ?? null,
            event.toNumber?.hash ?? null,
            event.toNumber?.last2 ?? null,
            event.at,
          ],
        );
      }
      case 'call.stream-started.v1':
        return this.upsertCall('project stream start', event, ['stream_started_at'], [event.at]);
      case 'call.stream-stopped.v1':
        return this.upsertCall('project stream stop', event, ['stream_stopped_at'], [event.at]);
      case 'call.ended.v1':
        return this.upsertCall(
          'project call end',
          event,
          ['ended_at', 'call_status'],
          [event.at, event.status],
        );
      case 'call.audio-stored.v1':
        return this.audioStored(event);
      default:
        return;
    }
  }

  /** The parties in clear, from the internal parties.v1 (only where the gateway has STORE_CALLER_NUMBERS). */
  async parties(event: CallParties): Promise<void> {
    await this.upsertCall(
      'project call parties',
      event,
      ['agent_party', 'technician_party'],
      [event.from || null, event.to || null],
    );
  }

  async recording(event: RecordingEvent): Promise<void> {
    if (await isErasing(this.pool, event.callSid)) return;
    switch (event.type) {
      case 'recording.status.v1':
        return this.recordingStatus(event);
      case 'recording.fetch-failed.v1':
        await this.query(
          'project recording fetch failure',
          `INSERT INTO api_recordings (recording_sid, call_sid, status, error_source, error_code, error_message, first_event_at)
           VALUES ($1, $2, 'failed', 'fetcher', $3, $4, $5)
           ON CONFLICT (recording_sid) DO UPDATE
             SET status = 'failed', error_source = 'fetcher', error_code = $3, error_message = $4,
                 first_event_at = LEAST(api_recordings.first_event_at, $5)
             WHERE api_recordings.status <> 'stored'`,
          [event.recordingSid, event.callSid, event.errorCode, event.errorMessage, event.at],
        );
        return;
      case 'recording.stored.v1':
        return this.recordingStored(event);
    }
  }

  /**
   * Finals only: the first stored text of a segment wins, as in the transcriber's own table. What finals carry
   * beyond the text (language, confidence, Whisper's segments, word timings) is kept as published; it is absent
   * on finals published before transcripts.v1 carried it.
   */
  async transcript(event: TranscriptEvent): Promise<void> {
    if (await isErasing(this.pool, event.callSid)) return;
    if (!event.final) return;
    await this.query(
      'project transcript segment',
      `INSERT INTO api_transcript_segments
         (call_sid, speaker, segment_id, source, sequence, start_ms, end_ms, text, model_id,
          language, avg_logprob, no_speech_prob, whisper_segments, words, search_config)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::regconfig)
       ON CONFLICT (call_sid, speaker, segment_id, source) DO NOTHING`,
      [
        event.callSid,
        event.speaker,
        event.segmentId,
        event.source,
        event.sequence,
        event.startMs,
        event.endMs,
        event.text,
        event.modelId,
        event.language ?? null,
        event.avgLogprob ?? null,
        event.noSpeechProb ?? null,
        event.segments ? JSON.stringify(event.segments) : null,
        event.words ? JSON.stringify(event.words) : null,
        searchConfigFor(event.language),
      ],
    );
  }

  /** A call row may come from any of its events, in any order: its first known time is the earliest. */
  /** The call was erased: none of its rows stays (another replica's erasure deleted them already, or a rebuild). */
  private async forget(callSid: string): Promise<void> {
    try {
      await withTransaction(this.pool, (client) => forgetCallRows(client, callSid));
    } catch (error) {
      throw toDatabaseError('forget erased call', error);
    }
  }

  private async upsertCall(
    operation: string,
    event: { callSid: string; at: string },
    columns: readonly string[],
    values: readonly unknown[],
  ): Promise<void> {
    const placeholders = columns.map((_, i) => `$${i + 3}`);
    await this.query(
      operation,
      `INSERT INTO api_calls (call_sid, first_event_at, ${columns.join(', ')})
       VALUES ($1, $2, ${placeholders.join(', ')})
       ON CONFLICT (call_sid) DO UPDATE SET first_event_at = LEAST(api_calls.first_event_at, $2),
         ${columns.map((column, i) => `${column} = ${placeholders[i]}`).join(', ')}`,
      [event.callSid, event.at, ...values],
    );
  }

  /**
   * The latest announcement wins (stream-ingest announces again when it recovers frames): an older one
   * redelivered later changes nothing. Every WAV has the call's length, so the call's duration is theirs.
   */
  private async audioStored(event: Extract<CallEvent, { type: 'call.audio-stored.v1' }>): Promise<void> {
    const durationMs = Math.max(0, ...event.files.map((file) => file.durationMs));
    await withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO api_calls (call_sid, first_event_at, duration_ms, audio_stored_at) VALUES ($1, $2, $3, $2)
         ON CONFLICT (call_sid) DO UPDATE SET first_event_at = LEAST(api_calls.first_event_at, $2),
           duration_ms = $3, audio_stored_at = $2
         WHERE api_calls.audio_stored_at IS NULL OR api_calls.audio_stored_at <= $2`,
        [event.callSid, event.at, durationMs],
      );
      if (rowCount !== 1) return;
      await client.query('DELETE FROM api_call_stream_files WHERE call_sid = $1', [event.callSid]);
      for (const file of event.files) {
        await client.query(
          `INSERT INTO api_call_stream_files (call_sid, speaker, sample_rate, object_key, bytes, duration_ms, gap_filled_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            event.callSid,
            file.speaker,
            file.sampleRate,
            file.key,
            file.bytes,
            file.durationMs,
            event.gapFilledMs[file.speaker] ?? 0,
          ],
        );
      }
    });
  }

  /** Twilio's callbacks: the status moves forward only, and nothing undoes `stored` (the fetcher's rules). */
  private async recordingStatus(
    event: Extract<RecordingEvent, { type: 'recording.status.v1' }>,
  ): Promise<void> {
    const { recordingSid, callSid, at } = event;
    const duration = event.durationSeconds ?? null;
    const channels = event.channels ?? null;
    switch (event.status) {
      case 'in-progress':
        await this.query(
          'project recording in progress',
          `INSERT INTO api_recordings (recording_sid, call_sid, status, channels, first_event_at)
           VALUES ($1, $2, 'in-progress', $3, $4)
           ON CONFLICT (recording_sid) DO UPDATE SET first_event_at = LEAST(api_recordings.first_event_at, $4)`,
          [recordingSid, callSid, channels, at],
        );
        return;
      case 'completed':
        await this.query(
          'project recording completed',
          `INSERT INTO api_recordings (recording_sid, call_sid, status, twilio_duration_seconds, channels, first_event_at)
           VALUES ($1, $2, 'completed', $3, $4, $5)
           ON CONFLICT (recording_sid) DO UPDATE
             SET status = CASE WHEN api_recordings.status = 'in-progress' THEN 'completed' ELSE api_recordings.status END,
                 twilio_duration_seconds = COALESCE($3, api_recordings.twilio_duration_seconds),
                 channels = COALESCE(api_recordings.channels, $4),
                 first_event_at = LEAST(api_recordings.first_event_at, $5)`,
          [recordingSid, callSid, duration, channels, at],
        );
        return;
      case 'absent':
      case 'failed':
        await this.query(
          'project recording outcome',
          `INSERT INTO api_recordings
             (recording_sid, call_sid, status, twilio_duration_seconds, error_source, error_code, first_event_at)
           VALUES ($1, $2, $3, $4, 'twilio', $5, $6)
           ON CONFLICT (recording_sid) DO UPDATE
             SET status = $3, error_source = 'twilio', error_code = $5, error_message = NULL,
                 twilio_duration_seconds = COALESCE($4, api_recordings.twilio_duration_seconds),
                 first_event_at = LEAST(api_recordings.first_event_at, $6)
             WHERE api_recordings.status <> 'stored'`,
          [recordingSid, callSid, event.status, duration, event.errorCode ?? null, at],
        );
        return;
    }
  }

  private async recordingStored(
    event: Extract<RecordingEvent, { type: 'recording.stored.v1' }>,
  ): Promise<void> {
    // Events from before `channel` was published list the dual file first, then channels 1 and 2.
    let nextChannel = 1;
    const objects = event.objects.map((object) => ({
      ...object,
      channel: object.channel !== undefined ? object.channel : object.role === 'dual' ? null : nextChannel++,
      durationMs: object.durationMs ?? event.durationMs,
    }));
    await withTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO api_recordings (recording_sid, call_sid, status, channels, duration_ms, stored_at, first_event_at)
         VALUES ($1, $2, 'stored', $3, $4, $5, $5)
         ON CONFLICT (recording_sid) DO UPDATE
           SET status = 'stored', channels = $3, duration_ms = $4, stored_at = $5,
               error_source = NULL, error_code = NULL, error_message = NULL,
               first_event_at = LEAST(api_recordings.first_event_at, $5)`,
        // The fetcher archives dual-channel recordings only.
        [event.recordingSid, event.callSid, event.channels ?? 2, event.durationMs, event.at],
      );
      await client.query('DELETE FROM api_recording_objects WHERE recording_sid = $1', [event.recordingSid]);
      for (const object of objects) {
        await client.query(
          `INSERT INTO api_recording_objects (recording_sid, role, channel, object_key, bytes, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [event.recordingSid, object.role, object.channel, object.key, object.bytes, object.durationMs],
        );
      }
    });
  }

  private async query(operation: string, sql: string, params: readonly unknown[]): Promise<void> {
    try {
      await this.pool.query(sql, params as unknown[]);
    } catch (error) {
      throw toDatabaseError(operation, error);
    }
  }
}
