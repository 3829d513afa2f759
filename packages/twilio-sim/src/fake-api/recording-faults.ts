import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** Misbehaviour to inject when a recording's media is downloaded (for the recording fetcher's tests). */
export interface RecordingFaults {
  /** Answer 404 (as Twilio does before the file is ready) to the first N media requests. */
  notReadyTimes?: number;
  /** Then answer HTTP 500 to the next N media requests. */
  status5xxTimes?: number;
  /** Send only the first N bytes of the body, then cut the connection. */
  truncateAt?: number;
  /** Wait this long before answering each media request. */
  delayMs?: number;
  /** Throttle the body to about this many bytes per second. */
  slowBytesPerSec?: number;
  /** Answer 302 to this URL instead of sending the body (Twilio redirects media to storage links). */
  redirectTo?: string;
  /** Declare this Content-Length whatever the body's real size (the connection closes after the body). */
  contentLengthOverride?: number;
}

/** Faults plus how many of the counted ones are left. */
export class FaultState {
  notReadyLeft: number;
  status5xxLeft: number;

  constructor(readonly faults: RecordingFaults) {
    this.notReadyLeft = faults.notReadyTimes ?? 0;
    this.status5xxLeft = faults.status5xxTimes ?? 0;
  }
}

const THROTTLE_TICK_MS = 50;

/**
 * Writes a media body, applying the body-level faults: declared length, throttling, truncation.
 * Resolves when done or when the client went away.
 */
export async function sendMediaBody(
  res: ServerResponse,
  body: Buffer,
  contentType: string,
  faults: RecordingFaults,
): Promise<void> {
  const declared = faults.contentLengthOverride ?? body.length;
  const cutAt = Math.min(faults.truncateAt ?? body.length, body.length);
  res.statusCode = 200;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', String(declared));
  // A wrong length or a cut body leaves the connection unusable for another response.
  if (declared !== body.length || cutAt < body.length) res.setHeader('Connection', 'close');

  const rate = faults.slowBytesPerSec;
  const step = rate ? Math.max(1, Math.floor((rate * THROTTLE_TICK_MS) / 1000)) : cutAt;
  for (let offset = 0; offset < cutAt; offset += step) {
    if (res.destroyed) return;
    const chunk = body.subarray(offset, Math.min(offset + step, cutAt));
    if (!res.write(chunk)) await waitForDrain(res);
    if (rate && offset + step < cutAt) await sleep(THROTTLE_TICK_MS);
  }
  if (cutAt < body.length) {
    // Let the written bytes reach the client, then drop the connection mid-body.
    res.socket?.end();
    return;
  }
  res.end();
}

function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
