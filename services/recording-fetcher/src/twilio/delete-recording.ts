import { CalltxError } from '@calltx/events';
import type { TwilioRecordingApi } from './recording-api.js';

export class TwilioDeleteError extends CalltxError {}

/** DELETEs the recording at Twilio. A 404 counts as done: an earlier attempt (or someone else) deleted it. */
export async function deleteRecordingAtTwilio(
  api: TwilioRecordingApi,
  recordingSid: string,
  timeoutMs: number,
): Promise<void> {
  const url = api.resourceJsonUrl(recordingSid);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: api.authorization },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new TwilioDeleteError(`could not reach ${url.host} to delete recording ${recordingSid}`, {
      cause,
      retryable: true,
    });
  }
  await res.body?.cancel();
  if (res.status === 204 || res.status === 200 || res.status === 404) return;
  throw new TwilioDeleteError(`deleting recording ${recordingSid} at Twilio answered HTTP ${res.status}`, {
    retryable: res.status >= 500 || res.status === 429,
  });
}
