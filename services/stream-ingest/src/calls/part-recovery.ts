import { createHash } from 'node:crypto';
import type { CallClaims, Claim } from '../claims/index.js';
import type { UnreadablePartRow } from '../db/calls-repo.js';
import { announceAudioStored } from '../finalize/announce.js';
import { announcedEnds, listParts, writeCallWavs } from '../finalize/call-wavs.js';
import { setAsideUnreadable } from '../finalize/unreadable-parts.js';
import { PartFormatError, decodePart } from '../spool/part-format.js';
import { applyStreamRedactions } from '../redaction/stream-redaction.js';
import type { OwnedCallDeps } from './owned-call.js';

/**
 * The later pass over parts finalize set aside as unreadable, for finalized calls (their parts are kept while
 * any is pending). A part that reads now goes back under its key, the call's WAVs are written again from all its
 * parts (the same deterministic merge), recorded, and announced with a second `audio-stored`. One replica at a
 * time per call: it holds the call's claim meanwhile. A part still unreadable `giveUpMs` after it was set aside is
 * given up on first: no longer retried, its aside object and the call's parts left for an operator.
 */
export async function recoverUnreadableParts(
  deps: OwnedCallDeps,
  claims: CallClaims,
  giveUpMs: number,
): Promise<void> {
  for (const part of await deps.repo.abandonUnreadableParts(giveUpMs)) {
    deps.metrics.framesAbandoned.inc({ speaker: part.speaker }, part.frames);
    // Keys name the call, the speaker and the span: no personal data.
    deps.logger.warn(
      {
        callSid: part.callSid,
        speaker: part.speaker,
        partKey: part.partKey,
        asideKey: part.asideKey,
        frames: part.frames,
      },
      'set-aside part still unreadable: no longer retried, its frames stay lost (the aside object is kept)',
    );
  }
  const byCall = new Map<string, UnreadablePartRow[]>();
  for (const part of await deps.repo.unreadableParts()) {
    byCall.set(part.callSid, [...(byCall.get(part.callSid) ?? []), part]);
  }
  for (const [callSid, parts] of byCall) {
    const claim = await claims.claim(callSid);
    if (!claim) continue;
    try {
      await recoverCall(deps, claim, callSid, parts);
    } catch (error) {
      deps.logger.error(
        { err: error, callSid },
        'recovering set-aside parts failed; retrying at the next pass',
      );
    } finally {
      await claim.release();
    }
  }
}

async function recoverCall(
  deps: OwnedCallDeps,
  claim: Claim,
  callSid: string,
  parts: readonly UnreadablePartRow[],
): Promise<void> {
  const { store, repo, metrics, logger } = deps;
  const readable: UnreadablePartRow[] = [];
  for (const part of parts) {
    const bytes = await store.getBuffer(part.asideKey);
    try {
      decodePart(bytes, part.asideKey);
    } catch (error) {
      if (error instanceof PartFormatError) continue;
      throw error;
    }
    await store.putObject(part.partKey, bytes);
    readable.push(part);
  }
  const row = await repo.get(callSid);
  if (readable.length === 0 || !row || !claim.isHeld()) return;

  const speakers = row.tracks.map((track) => row.speakers[track]);
  const wavs = await writeCallWavs(store, callSid, speakers, announcedEnds(row), claim.signal);
  if (!claim.isHeld()) return;
  for (const { speaker, unreadable } of wavs.speakers) {
    await setAsideUnreadable(deps, callSid, speaker, unreadable);
  }
  await repo.replaceFiles(
    callSid,
    wavs,
    readable.map((part) => part.partKey),
  );
  // Written anew from the parts: the redacted spans are covered again before anything announces the files.
  await applyStreamRedactions(deps, callSid, () => claim.isHeld());
  for (const part of readable) {
    await store.remove(part.asideKey);
    metrics.framesRecovered.inc({ speaker: part.speaker }, part.frames);
  }
  logger.info(
    { callSid, parts: readable.map(({ speaker, partKey, frames }) => ({ speaker, partKey, frames })) },
    'set-aside parts readable again: WAVs written with their frames',
  );
  // One message per content: a retry after a crash is deduplicated, a later recovery is not.
  const digest = createHash('sha256');
  for (const s of wavs.speakers) digest.update(s.wav8k.sha256).update(s.wav16k.sha256);
  await announceAudioStored(
    deps,
    callSid,
    `${callSid}:audio-stored:${digest.digest('hex').slice(0, 16)}`,
    () => claim.isHeld(),
  );
  if ((await repo.unreadableParts(callSid)).length > 0 || !claim.isHeld()) return;
  for (const speaker of speakers) {
    for (const part of await listParts(store, callSid, speaker)) await store.remove(part.key);
  }
}
