import { Router } from 'express';
import { z } from 'zod';
import { CALL_SID_PATTERN, schemas } from '@calltx/events';
import { requireScopes } from '../auth/authenticate.js';
import { invalidRequest } from '../errors.js';
import { auditAbout, recordAudit, type AuditTrail } from './audit-trail.js';

const AuditQuery = z.object({
  callSid: z.string().regex(CALL_SID_PATTERN, 'must be CA followed by 32 hex digits').optional(),
  actor: z.string().min(1).max(200).optional(),
  from: schemas.isoTime.optional(),
  to: schemas.isoTime.optional(),
  cursor: z.string().max(40).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Opaque to clients: the id of a page's last (oldest) row. */
const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{1,19}$/.test(id)) throw invalidRequest('cursor is not valid: pass nextCursor as it was');
  return id;
}

/** `GET /audit`: the audit trail, newest first, filtered by call, actor and time, in pages. Itself audited. */
export function auditRouter(trail: AuditTrail): Router {
  const router = Router();
  router.get('/audit', trail.as('audit.list'), requireScopes('audit:read'), async (req, res) => {
    const parsed = AuditQuery.safeParse(req.query);
    if (!parsed.success) {
      throw invalidRequest(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const query = parsed.data;
    if (query.from && query.to && Date.parse(query.from) >= Date.parse(query.to)) {
      throw invalidRequest('from must be before to');
    }
    const filters = (['callSid', 'actor', 'from', 'to'] as const).filter((f) => query[f] !== undefined);
    auditAbout(res, { ...(query.callSid ? { callSid: query.callSid } : {}), detail: { filters } });
    const rows = await trail.list({
      ...(query.callSid ? { callSid: query.callSid } : {}),
      ...(query.actor ? { actor: query.actor } : {}),
      ...(query.from ? { from: query.from } : {}),
      ...(query.to ? { to: query.to } : {}),
      ...(query.cursor ? { beforeId: decodeCursor(query.cursor) } : {}),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    await recordAudit(req, res);
    res.json({
      entries: page.map((row) => ({
        id: row.id,
        at: row.at.toISOString(),
        actor: row.actor,
        actorKind: row.actorKind,
        action: row.action,
        callSid: row.callSid,
        detail: row.detail,
        clientIp: row.clientIp,
        result: row.result,
        status: row.status,
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.id) : null,
    });
  });
  return router;
}
