import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { toDatabaseError, type Pool } from '@calltx/db';
import { CALL_SID_PATTERN } from '@calltx/events';
import { principalOf } from '../auth/authenticate.js';
import { ApiError } from '../errors.js';

/**
 * What an audited request did. `call.erase` is reserved for the erasure route (issue 15): it mounts
 * `trail.as('call.erase')` before its scope check and calls `recordAudit` before answering, as the reads do.
 */
export const AUDIT_ACTIONS = [
  'call.read',
  'transcript.read',
  'calls.list',
  'calls.search',
  'live.transcripts',
  'live.calls',
  'audit.list',
  'call.erase',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** How a request ended, from its status. */
export type AuditResult = 'ok' | 'denied' | 'not_found' | 'invalid' | 'unavailable' | 'error';

/**
 * No personal data: `callSid`, counts, formats and the names (never the values) of filters. A search's words and
 * a number filter's digits may be personal data, so only `filters: ['q', 'number', …]` is kept.
 */
export type AuditDetail = Record<string, string | number | boolean | readonly string[]>;

export interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  actorKind: string;
  action: AuditAction;
  callSid: string | null;
  detail: AuditDetail;
  clientIp: string | null;
  result: AuditResult;
  status: number;
}

export interface AuditFilter {
  callSid?: string;
  actor?: string;
  from?: string;
  to?: string;
  /** Rows older than this id (the previous page's last). */
  beforeId?: string;
  limit: number;
}

interface Pending {
  trail: AuditTrail;
  action: AuditAction;
  callSid?: string;
  detail: AuditDetail;
  recorded: boolean;
}

const resultOf = (status: number): AuditResult =>
  status < 400
    ? 'ok'
    : status === 401 || status === 403
      ? 'denied'
      : status === 404
        ? 'not_found'
        : status === 503 || status === 429
          ? 'unavailable'
          : status < 500
            ? 'invalid'
            : 'error';

/**
 * The append-only audit trail (table api_audit). A read that cannot be audited is not served: the row is written
 * before the answer, and when that fails the client gets 503 instead of the data.
 */
export class AuditTrail {
  constructor(private readonly pool: Pool) {}

  /**
   * Marks a route as audited; put it before the route's scope check so that refusals are recorded too, with the
   * call they were about (a valid `:callSid` of the path).
   */
  as(action: AuditAction): RequestHandler {
    return (req, res, next) => {
      const callSid = req.params.callSid;
      res.locals.audit = {
        trail: this,
        action,
        ...(typeof callSid === 'string' && CALL_SID_PATTERN.test(callSid) ? { callSid } : {}),
        detail: {},
        recorded: false,
      } satisfies Pending;
      next();
    };
  }

  /** Records an audited request that failed (refused, not found, invalid…), then lets the error be answered. */
  readonly onError: ErrorRequestHandler = (error: unknown, req, res, next) => {
    const pending = res.locals.audit as Pending | undefined;
    if (!pending || pending.recorded || res.headersSent) return next(error);
    const status = error instanceof ApiError ? error.status : 500;
    // Unrecordable, a refusal becomes 503 too; a failure that is a 503 already keeps its own message.
    this.write(req, res, pending, status).then(
      () => next(error),
      (auditError: unknown) => next(status >= 500 ? error : auditError),
    );
  };

  async list(filter: AuditFilter): Promise<AuditRow[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (filter.callSid) add((p) => `call_sid = ${p}`, filter.callSid);
    if (filter.actor) add((p) => `actor = ${p}`, filter.actor);
    if (filter.from) add((p) => `at >= ${p}`, filter.from);
    if (filter.to) add((p) => `at < ${p}`, filter.to);
    if (filter.beforeId) add((p) => `id < ${p}`, filter.beforeId);
    params.push(filter.limit);
    try {
      const { rows } = await this.pool.query<AuditRow>(
        `SELECT id::text AS id, at, actor, actor_kind AS "actorKind", action, call_sid AS "callSid", detail,
                client_ip AS "clientIp", result, status
           FROM api_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY api_audit.id DESC LIMIT $${params.length}`,
        params,
      );
      return rows;
    } catch (error) {
      throw toDatabaseError('list audit', error);
    }
  }

  async write(req: Request, res: Response, pending: Pending, status: number): Promise<void> {
    const principal = principalOf(res);
    try {
      await this.pool.query(
        `INSERT INTO api_audit (actor, actor_kind, action, call_sid, detail, client_ip, result, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          principal.subject,
          principal.via,
          pending.action,
          pending.callSid ?? null,
          JSON.stringify(pending.detail),
          req.ip ?? null,
          resultOf(status),
          status,
        ],
      );
      pending.recorded = true;
    } catch (error) {
      throw new ApiError(503, 'unavailable', 'the audit trail is unavailable, so this read is not served', {
        cause: toDatabaseError('write audit', error),
        headers: { 'Retry-After': '2' },
      });
    }
  }
}

/** Names the call and details of the audited request, as soon as they are known (and valid). */
export function auditAbout(res: Response, about: { callSid?: string; detail?: AuditDetail }): void {
  const pending = res.locals.audit as Pending | undefined;
  if (!pending) throw new Error('route mounted without AuditTrail.as()');
  if (about.callSid !== undefined) pending.callSid = about.callSid;
  if (about.detail) Object.assign(pending.detail, about.detail);
}

/** Records the audited request as served: call before writing any of the answer. */
export async function recordAudit(req: Request, res: Response, status = 200): Promise<void> {
  const pending = res.locals.audit as Pending | undefined;
  if (!pending) throw new Error('route mounted without AuditTrail.as()');
  await pending.trail.write(req, res, pending, status);
}
