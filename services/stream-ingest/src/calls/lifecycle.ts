import type { CallEvent } from '@calltx/events';
import type { Logger } from '@calltx/runtime';
import type { CallsRepo } from '../db/calls-repo.js';
import type { CallManager } from './call-manager.js';

/**
 * Handles the call lifecycle from the shared CALLS consumer (any replica may get any event): records it in
 * Postgres, and on stream start claims the call for this replica. Stops and ends are only recorded here; the
 * owner, wherever it runs, sees them at its next check (at once when it is this replica).
 */
export function lifecycleHandler(
  repo: CallsRepo,
  manager: CallManager,
  logger: Logger,
  isErased: (callSid: string) => Promise<boolean>,
) {
  return async (event: CallEvent): Promise<void> => {
    // An erased call's data is gone for good: a late event must not bring any of it back.
    if (await isErased(event.callSid)) {
      logger.info({ callSid: event.callSid, type: event.type }, 'event of an erased call: ignored');
      return;
    }
    switch (event.type) {
      case 'call.started.v1':
        await repo.callStarted(event);
        return;
      case 'call.stream-started.v1': {
        const row = await repo.streamStarted(event);
        if (row.ingestState === 'active') await manager.adopt(row);
        else
          logger.info(
            { callSid: event.callSid, state: row.ingestState },
            'stream start for a call already stored: ignored',
          );
        return;
      }
      case 'call.stream-stopped.v1':
        await repo.streamStopped(event);
        await manager.nudge(event.callSid);
        return;
      case 'call.ended.v1':
        await repo.callEnded(event);
        await manager.nudge(event.callSid);
        return;
      default:
        return;
    }
  };
}
