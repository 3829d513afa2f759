import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { CALL_SID_PATTERN, schemas } from '@calltx/events';
import { type ObjectStore } from '@calltx/storage';
import { auditAbout, recordAudit, type AuditTrail } from '../audit/audit-trail.js';
import { principalOf, requireScopes } from '../auth/authenticate.js';
import { ApiError, invalidRequest } from '../errors.js';
import type { CallRow, CallsRepository, ListedCall } from './calls-repository.js';
import {
  CONTENT_TYPES,
  TRANSCRIPT_FORMATS,
  toJsonUtterance,
  toSrt,
  toTxt,
  toVtt,
} from './transcript-formats.js';

export interface CallsRouteDeps {
  calls: CallsRepository;
  objectStore: ObjectStore;
  urlTtlSeconds: number;
  trail: AuditTrail;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
  cursor: z.string().max(200).optional(),
  from: schemas.isoTime.optional(),
  to: schemas.isoTime.optional(),
  number: z
    .string()
    .max(32)
    .transform((value) => value.replace(/\D/g, ''))
    .refine((digits) => digits.length >= 2, 'must contain at least 2 digits')
    .optional(),
  state: z.enum(['live', 'ended']).optional(),
  q: z
    .string()
    .trim()
    .max(200)
    .refine((q) => /[\p{L}\p{N}]/u.test(q), 'must contain a word to search for')
    .optional(),
});

const TranscriptQuery = z.object({
  format: z.enum(TRANSCRIPT_FORMATS).default('json'),
  source: z.enum(['live', 'recording']).optional(),
});

/**
 * Opaque to clients: the last call of a page, at Postgres precision; when searching, its rank first (as
 * Postgres prints the float4, so that it compares exactly).
 */
const Started = z.iso.datetime({ offset: true, precision: 6 }).refine(schemas.withinPostgresRange);
const Sid = z.string().regex(CALL_SID_PATTERN);
const Rank = z.string().regex(/^\d+(\.\d+)?(e-?\d+)?$/);
const Cursor = z.union([z.tuple([Started, Sid]), z.tuple([Rank, Started, Sid])]);

const encodeCursor = (call: ListedCall) =>
  Buffer.from(
    JSON.stringify(
      call.match ? [call.match.rankKey, call.startedKey, call.callSid] : [call.startedKey, call.callSid],
    ),
  ).toString('base64url');

function decodeCursor(
  cursor: string,
  searching: boolean,
): { rankKey?: string; startedKey: string; callSid: string } {
  let decoded: z.output<typeof Cursor>;
  try {
    decoded = Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalidRequest('cursor is not valid: pass nextCursor from the previous page as it was');
  }
  if ((decoded.length === 3) !== searching) {
    throw invalidRequest('cursor is not valid here: it belongs to a list with a different q');
  }
  if (decoded.length === 3) {
    const [rankKey, startedKey, callSid] = decoded;
    return { rankKey, startedKey, callSid };
  }
  const [startedKey, callSid] = decoded;
  return { startedKey, callSid };
}

function queryOf<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const result = schema.safeParse(req.query);
  if (!result.success) {
    throw invalidRequest(
      result.error.issues.map((issue) => `${issue.path.join('.') || 'query'}: ${issue.message}`).join('; '),
    );
  }
  return result.data;
}

export const callJson = (call: CallRow) => ({
  callSid: call.callSid,
  startedAt: call.startedAt.toISOString(),
  endedAt: call.endedAt?.toISOString() ?? null,
  state: call.state,
  status: call.status,
  agent: call.agent,
  technician: call.technician,
  durationMs: call.durationMs,
  recordingStatus: call.recordingStatus,
});

/** `GET /calls` (list, filters, pages) and `GET /calls/{callSid}` (with transcript, recordings and stream audio). */
export function callsRouter({ calls, objectStore, urlTtlSeconds, trail }: CallsRouteDeps): Router {
  const router = Router();

  /** A list with q is a search: recorded as calls.search, with the kinds of its filters, never their values. */
  const auditList: RequestHandler = (req, res, next) =>
    trail.as(req.query.q === undefined ? 'calls.list' : 'calls.search')(req, res, next);

  router.get('/calls', auditList, requireScopes('calls:read'), async (req, res) => {
    const filters = (['from', 'to', 'number', 'state', 'q'] as const).filter(
      (f) => req.query[f] !== undefined,
    );
    auditAbout(res, { detail: { filters } });
    const query = queryOf(ListQuery, req);
    if (query.from && query.to && Date.parse(query.from) >= Date.parse(query.to)) {
      throw invalidRequest('from must be before to');
    }
    // A search reads transcripts, and its snippets show them.
    if (query.q !== undefined && !principalOf(res).scopes.has('transcripts:read')) {
      throw new ApiError(403, 'forbidden', 'this credential lacks the scope transcripts:read (needed by q)');
    }
    const rows = await calls.list({
      // As given: Postgres keeps the microseconds a Date would drop.
      ...(query.from ? { from: query.from } : {}),
      ...(query.to ? { to: query.to } : {}),
      ...(query.number ? { numberDigits: query.number } : {}),
      ...(query.state ? { state: query.state } : {}),
      ...(query.q !== undefined ? { search: query.q } : {}),
      ...(query.cursor ? { after: decodeCursor(query.cursor, query.q !== undefined) } : {}),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    await recordAudit(req, res);
    res.json({
      calls: page.map((call) => ({
        ...callJson(call),
        ...(call.match
          ? {
              match: {
                rank: Number(call.match.rankKey),
                speaker: call.match.speaker,
                source: call.match.source,
                startMs: call.match.startMs,
                endMs: call.match.endMs,
                snippet: call.match.snippet,
              },
            }
          : {}),
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    });
  });

  router.get(
    '/calls/:callSid',
    trail.as('call.read'),
    requireScopes('calls:read', 'transcripts:read', 'recordings:read'),
    async (req, res) => {
      const callSid = String(req.params.callSid);
      if (!CALL_SID_PATTERN.test(callSid))
        throw invalidRequest('callSid must be CA followed by 32 hex digits');
      const [call, segments, recordings, streamFiles] = await Promise.all([
        calls.get(callSid),
        calls.segments(callSid),
        calls.recordings(callSid),
        calls.streamFiles(callSid),
      ]);
      if (!call && segments.length === 0 && recordings.length === 0) {
        throw new ApiError(404, 'not_found', 'no such call');
      }
      const expiresAt = new Date(Date.now() + urlTtlSeconds * 1000).toISOString();
      const url = (key: string) => objectStore.presignedGetUrl(key, urlTtlSeconds);
      const recordingsJson = await Promise.all(
        recordings.map(async (r) => ({
          recordingSid: r.recordingSid,
          status: r.status,
          durationMs: r.durationMs,
          channels: r.channels,
          error: r.error,
          storedAt: r.storedAt?.toISOString() ?? null,
          files: await Promise.all(
            r.objects.map(async (o) => ({
              role: o.role,
              channel: o.channel,
              bytes: o.bytes,
              durationMs: o.durationMs,
              url: await url(o.key),
              urlExpiresAt: expiresAt,
            })),
          ),
        })),
      );
      const streamAudio = await Promise.all(
        streamFiles.map(async (f) => ({
          speaker: f.speaker,
          bytes: f.bytes,
          durationMs: f.durationMs,
          gapFilledMs: f.gapFilledMs,
          url: await url(f.key),
          urlExpiresAt: expiresAt,
        })),
      );
      // The presigned URLs handed out are what gives access to the audio: counted in the record.
      auditAbout(res, {
        detail: {
          recordingUrls: recordingsJson.reduce((n, r) => n + r.files.length, 0),
          streamAudioUrls: streamAudio.length,
        },
      });
      await recordAudit(req, res);
      res.set('Cache-Control', 'private, no-store').json({
        call: call ? callJson(call) : null,
        transcript: { segments },
        recordings: recordingsJson,
        streamAudio,
      });
    },
  );

  router.get(
    '/calls/:callSid/transcript',
    trail.as('transcript.read'),
    requireScopes('transcripts:read'),
    async (req, res) => {
      const callSid = String(req.params.callSid);
      if (!CALL_SID_PATTERN.test(callSid))
        throw invalidRequest('callSid must be CA followed by 32 hex digits');
      const { format, source: asked } = queryOf(TranscriptQuery, req);
      auditAbout(res, { detail: { format } });
      const [call, all] = await Promise.all([calls.get(callSid), calls.utterances(callSid)]);
      if (!call && all.length === 0) throw new ApiError(404, 'not_found', 'no such call');
      // The recording's transcript when there is one: it is made from the whole recording, after the call.
      const source = asked ?? (all.some((u) => u.source === 'recording') ? 'recording' : 'live');
      const utterances = all.filter((u) => u.source === source);
      auditAbout(res, { detail: { source } });
      await recordAudit(req, res);
      res.set('Cache-Control', 'private, no-store').type(CONTENT_TYPES[format]);
      if (format === 'json') {
        res.json({ callSid, source, utterances: utterances.map(toJsonUtterance) });
        return;
      }
      const render = { txt: toTxt, srt: toSrt, vtt: toVtt }[format];
      res
        .set('Content-Disposition', `attachment; filename="${callSid}-${source}.${format}"`)
        .send(render(utterances));
    },
  );

  return router;
}
