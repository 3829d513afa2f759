import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { EventsClientError, type EventsClient, type StartAt, type Subscription } from '@calltx/events-client';
import { CALL_SID_PATTERN } from '@calltx/events';
import { type Logger } from '@calltx/runtime';
import { auditAbout, recordAudit, type AuditTrail } from '../audit/audit-trail.js';
import { requireScopes } from '../auth/authenticate.js';
import { ApiError, invalidRequest } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import { SseStream } from './sse.js';

export interface LiveDeps {
  events: EventsClient;
  logger: Logger;
  metrics: ApiMetrics;
  maxStreams: number;
  trail: AuditTrail;
  heartbeatMs?: number;
}

export interface LiveRoutes {
  router: Router;
  /** Ends every open stream (shutdown): clients reconnect elsewhere with their Last-Event-ID. */
  closeAll(): Promise<void>;
}

const callSid = z.string().regex(CALL_SID_PATTERN, 'must be CA followed by 32 hex digits');
const from = z.union([z.enum(['now', 'start']), z.iso.datetime({ offset: true })]).default('now');
const sequence = z.string().regex(/^\d{1,15}$/, 'must be a stream sequence (an integer)');

const TranscriptQuery = z.object({
  callSid: callSid.optional(),
  kind: z.enum(['partial', 'final']).optional(),
  from,
  lastEventId: sequence.optional(),
});
const CallQuery = z.object({ callSid: callSid.optional(), from, lastEventId: sequence.optional() });

function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const result = schema.safeParse(req.query);
  if (!result.success) {
    throw invalidRequest(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return result.data;
}

/** `Last-Event-ID` (sent by EventSource on reconnect) wins over `lastEventId`, which wins over `from`. */
function startAtOf(req: Request, query: { from: string; lastEventId?: string | undefined }): StartAt {
  const header = req.header('last-event-id');
  if (header !== undefined && header !== '') {
    const parsed = sequence.safeParse(header.trim());
    if (!parsed.success) throw invalidRequest('Last-Event-ID must be the id of an event of this stream');
    return { afterSequence: Number(parsed.data) };
  }
  if (query.lastEventId !== undefined) return { afterSequence: Number(query.lastEventId) };
  if (query.from === 'now') return 'new';
  if (query.from === 'start') return 'start';
  return new Date(query.from);
}

/** Where a live stream starts, for the audit record: new, start, resume (after an event) or time. */
const startKind = (startAt: StartAt): string =>
  startAt instanceof Date ? 'time' : typeof startAt === 'object' ? 'resume' : startAt;

/**
 * Live events as Server-Sent Events, one JetStream ordered consumer per connection:
 * `GET /transcripts/stream` (event `transcript`) and `GET /calls/stream` (event `call`).
 */
export function liveRouter(deps: LiveDeps): LiveRoutes {
  const { events, logger, metrics } = deps;
  const router = Router();
  const open = new Set<{ subscription: Subscription<unknown>; stream: SseStream }>();

  async function serve<E>(
    family: 'transcripts' | 'calls',
    eventName: string,
    req: Request,
    res: Response,
    subscribe: () => Promise<Subscription<E>>,
  ): Promise<void> {
    if (open.size >= deps.maxStreams) {
      throw new ApiError(503, 'unavailable', 'too many live streams open on this gateway, retry shortly', {
        headers: { 'Retry-After': '5' },
      });
    }
    let subscription: Subscription<E>;
    try {
      subscription = await subscribe();
    } catch (error) {
      if (!(error instanceof EventsClientError)) throw error;
      logger.warn({ err: error, family }, 'live stream refused: JetStream unavailable');
      throw new ApiError(503, 'unavailable', `live ${family} are unavailable right now`, {
        cause: error,
        headers: { 'Retry-After': '5' },
      });
    }
    try {
      await recordAudit(req, res);
    } catch (error) {
      await subscription.close();
      throw error;
    }
    const stream = new SseStream(
      res,
      deps.heartbeatMs === undefined ? {} : { heartbeatMs: deps.heartbeatMs },
    );
    const entry = { subscription: subscription as Subscription<unknown>, stream };
    open.add(entry);
    metrics.liveStreams.inc({ family });
    // The response closes when the client goes away (or the stream ends): stop reading JetStream then.
    res.once('close', () => void subscription.close());
    try {
      for await (const delivery of subscription) {
        await stream.send(String(delivery.sequence), eventName, delivery.event);
      }
    } catch (error) {
      logger.warn({ err: error, family }, 'live stream ended by an error');
    } finally {
      open.delete(entry);
      metrics.liveStreams.dec({ family });
      await subscription.close();
      stream.end();
    }
  }

  router.get(
    '/transcripts/stream',
    deps.trail.as('live.transcripts'),
    requireScopes('transcripts:read'),
    async (req, res) => {
      const query = parseQuery(TranscriptQuery, req);
      const startAt = startAtOf(req, query);
      auditAbout(res, {
        ...(query.callSid ? { callSid: query.callSid } : {}),
        detail: { from: startKind(startAt), ...(query.kind ? { kind: query.kind } : {}) },
      });
      await serve('transcripts', 'transcript', req, res, () =>
        events.transcripts({
          ...(query.callSid ? { callSid: query.callSid } : {}),
          ...(query.kind ? { kind: query.kind } : {}),
          startAt,
        }),
      );
    },
  );

  router.get('/calls/stream', deps.trail.as('live.calls'), requireScopes('calls:read'), async (req, res) => {
    const query = parseQuery(CallQuery, req);
    const startAt = startAtOf(req, query);
    auditAbout(res, {
      ...(query.callSid ? { callSid: query.callSid } : {}),
      detail: { from: startKind(startAt) },
    });
    await serve('calls', 'call', req, res, () =>
      events.callEvents({ ...(query.callSid ? { callSid: query.callSid } : {}), startAt }),
    );
  });

  return {
    router,
    async closeAll() {
      await Promise.all(
        [...open].map(async ({ subscription, stream }) => {
          await subscription.close();
          stream.end();
        }),
      );
    },
  };
}
