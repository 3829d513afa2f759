import type { CallbackMethod } from '../twiml/parse-twiml.js';
import type { Addressing } from './addressing.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { attemptOffsetMs, connectionOverrides, shouldRetry } from './connection-overrides.js';
import { sendTwilioRequest } from './twilio-request.js';

export type CallbackKind = 'stream-status' | 'recording-status';

/** How one status callback went. A failed callback does not fail the call, as with Twilio. */
export interface CallbackDelivery {
  kind: CallbackKind;
  /** StreamEvent or RecordingStatus value. */
  event: string;
  /** HTTP status, when a response came back (of the last attempt). */
  status?: number;
  /** Requests made, retries included (Twilio retries as the URL's connection overrides say). */
  attempts: number;
  /** Network-level failure, when none did. */
  error?: string;
}

/** Sends status callbacks for one call and keeps track of them so the call can wait for all to land. */
export class CallbackSender {
  readonly deliveries: CallbackDelivery[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly addressing: Addressing,
    private readonly authToken: string,
  ) {}

  send(
    kind: CallbackKind,
    event: string,
    url: string,
    method: CallbackMethod,
    params: Record<string, string>,
  ): void {
    const delivery = this.deliver(kind, event, url, method, params).then((result) => {
      this.deliveries.push(result);
    });
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  private async deliver(
    kind: CallbackKind,
    event: string,
    url: string,
    method: CallbackMethod,
    params: Record<string, string>,
  ): Promise<CallbackDelivery> {
    const overrides = connectionOverrides(url);
    const budget = AbortSignal.timeout(overrides.totalMs);
    const started = Date.now();
    for (let attempts = 1; ; attempts += 1) {
      let outcome: number | 'connect' | 'timeout';
      let error: string | undefined;
      try {
        const response = await sendTwilioRequest({
          publicUrl: url,
          connectUrl: this.addressing.connectUrl(url),
          method,
          params,
          authToken: this.authToken,
          signal: AbortSignal.any([budget, AbortSignal.timeout(overrides.readTimeoutMs)]),
        });
        await response.arrayBuffer().catch(() => undefined);
        outcome = response.status;
      } catch (caught: unknown) {
        error = caught instanceof Error ? caught.message : String(caught);
        outcome = caught instanceof Error && caught.name === 'TimeoutError' ? 'timeout' : 'connect';
      }
      const next = started + attemptOffsetMs(overrides, attempts + 1);
      const retry =
        attempts <= overrides.retries &&
        shouldRetry(overrides, outcome) &&
        next < started + overrides.totalMs &&
        (await sleep(next - Date.now(), true, { signal: budget }).catch(() => false));
      if (!retry) {
        return typeof outcome === 'number'
          ? { kind, event, status: outcome, attempts }
          : { kind, event, error: error ?? outcome, attempts };
      }
    }
  }

  /** Resolves when every callback sent so far has completed or failed. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}
