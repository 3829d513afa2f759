import type { CallbackMethod } from '../twiml/parse-twiml.js';
import type { Addressing } from './addressing.js';
import { sendTwilioRequest } from './twilio-request.js';

export type CallbackKind = 'stream-status' | 'recording-status';

/** How one status callback went. A failed callback does not fail the call, as with Twilio. */
export interface CallbackDelivery {
  kind: CallbackKind;
  /** StreamEvent or RecordingStatus value. */
  event: string;
  /** HTTP status, when a response came back. */
  status?: number;
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
    const delivery = sendTwilioRequest({
      publicUrl: url,
      connectUrl: this.addressing.connectUrl(url),
      method,
      params,
      authToken: this.authToken,
    }).then(
      async (response) => {
        await response.arrayBuffer().catch(() => undefined);
        this.deliveries.push({ kind, event, status: response.status });
      },
      (error: unknown) => {
        this.deliveries.push({ kind, event, error: error instanceof Error ? error.message : String(error) });
      },
    );
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Resolves when every callback sent so far has completed or failed. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}
