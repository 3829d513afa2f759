import type { JetStreamClient } from '@nats-io/jetstream';
import { callEvents, type Subjects } from '@calltx/events';
import { publishEvent } from '@calltx/nats';
import type { CallsRepo, StreamFileRow } from '../db/calls-repo.js';

export interface AnnounceDeps {
  js: JetStreamClient;
  subjects: Subjects;
  repo: CallsRepo;
}

/**
 * Publishes `audio-stored` with the WAVs the database records for the call (unless `mayPublish` says the claim
 * is gone by then); returns those files.
 */
export async function announceAudioStored(
  { js, subjects, repo }: AnnounceDeps,
  callSid: string,
  msgId: string,
  mayPublish: () => boolean,
): Promise<StreamFileRow[]> {
  const files = await repo.files(callSid);
  const gapFilledMs: Record<string, number> = {};
  for (const file of files) gapFilledMs[file.speaker] = file.gapFilledMs;
  const event = callEvents.audioStored({
    callSid,
    at: new Date().toISOString(),
    files: files.map(({ speaker, sampleRate, key, bytes, durationMs, sha256 }) => ({
      speaker,
      sampleRate,
      key,
      bytes,
      durationMs,
      sha256,
    })),
    gapFilledMs,
  });
  if (mayPublish()) await publishEvent(js, subjects.call(callSid, 'audio-stored'), event, msgId);
  return files;
}
