import type { Logger } from '@calltx/runtime';
import type { ObjectStore } from '@calltx/storage';
import type { CallsRepo } from '../db/calls-repo.js';
import { FRAME_BYTES, SAMPLES_PER_MS } from '../frames/frame.js';
import type { IngestMetrics } from '../metrics.js';
import { unreadablePartKey, type PartRef } from '../spool/object-keys.js';

const FRAME_MS = FRAME_BYTES / SAMPLES_PER_MS;

/** Frames a part's name spans: all a part may hold, so what the WAVs lack at most without it. */
export const framesSpanned = (part: PartRef) => Math.floor((part.lastTs - part.firstTs) / FRAME_MS) + 1;

export interface SetAsideDeps {
  store: ObjectStore;
  repo: CallsRepo;
  metrics: IngestMetrics;
  logger: Logger;
}

/**
 * Moves parts finalize could not read out of the parts prefix (so neither the next merge nor the cleanup sees
 * them), lists them for the recovery pass, and counts their frames as missing from the WAVs, once per part.
 */
export async function setAsideUnreadable(
  { store, repo, metrics, logger }: SetAsideDeps,
  callSid: string,
  speaker: string,
  parts: readonly PartRef[],
): Promise<void> {
  for (const part of parts) {
    const asideKey = unreadablePartKey(callSid, speaker, part.key);
    const frames = framesSpanned(part);
    await store.putObject(asideKey, await store.getBuffer(part.key));
    const first = await repo.recordUnreadablePart({ callSid, speaker, partKey: part.key, asideKey, frames });
    await store.remove(part.key);
    if (!first) continue;
    metrics.framesUnreadable.inc({ speaker }, frames);
    logger.warn(
      { callSid, speaker, key: part.key, asideKey, frames },
      'part object unreadable: set aside, its frames are missing from the WAVs',
    );
  }
}
