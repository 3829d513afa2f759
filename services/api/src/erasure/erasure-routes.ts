import { Router } from 'express';
import { CALL_SID_PATTERN } from '@calltx/events';
import type { Logger } from '@calltx/runtime';
import { auditAbout, recordAudit, type AuditTrail } from '../api/audit/audit-trail.js';
import { principalOf, requireScopes } from '../api/auth/authenticate.js';
import type { CallsRepository } from '../api/calls/calls-repository.js';
import { ApiError, invalidRequest } from '../api/errors.js';
import type { ErasureCoordinator } from './coordinator.js';
import type { ErasureAttempt } from './erasures-repository.js';

export interface ErasureRouteDeps {
  calls: CallsRepository;
  coordinator: ErasureCoordinator;
  trail: AuditTrail;
  logger: Logger;
}

/**
 * `DELETE /calls/{callSid}`: erases the call everywhere, asynchronously (202, `state`). Idempotent: asking again
 * answers with the erasure's state and, while unfinished, asks the services again.
 */
export function erasureRouter({ calls, coordinator, trail, logger }: ErasureRouteDeps): Router {
  const router = Router();
  const { repository } = coordinator;
  router.delete(
    '/calls/:callSid',
    trail.as('call.erase'),
    requireScopes('calls:delete'),
    async (req, res) => {
      const callSid = String(req.params.callSid);
      if (!CALL_SID_PATTERN.test(callSid))
        throw invalidRequest('callSid must be CA followed by 32 hex digits');
      let attempt: ErasureAttempt | null;
      const known = await repository.get(callSid);
      if (known) {
        attempt = known.state === 'erased' ? null : await repository.again(callSid);
      } else {
        const [call, segments, recordings] = await Promise.all([
          calls.get(callSid),
          calls.segments(callSid),
          calls.recordings(callSid),
        ]);
        if (!call && segments.length === 0 && recordings.length === 0)
          throw new ApiError(404, 'not_found', 'no such call');
        // The services would write more of it after the erasure: erase a call once it is over.
        if (call && call.state !== 'ended') throw new ApiError(409, 'conflict', 'the call has not ended yet');
        attempt = await repository.request(callSid, principalOf(res).subject);
      }
      if (attempt) {
        try {
          await coordinator.publishRequest(attempt);
        } catch (error) {
          // The request is recorded: the sweeper asks again after ERASURE_RESUME_AFTER_SECONDS.
          logger.warn({ err: error, callSid }, 'erasure request not published yet, the sweeper will');
        }
      }
      const state = (await repository.get(callSid))?.state ?? 'requested';
      auditAbout(res, { detail: { state } });
      await recordAudit(req, res, 202);
      res.status(202).json({ callSid, state });
    },
  );
  return router;
}
