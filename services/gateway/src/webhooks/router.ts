import express, { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import { callEvents, encodeEvent, partyNumber, recordingEvents, type Subjects } from '@calltx/events';
import { internalEvents } from '@calltx/events/internal';
import { type Logger } from '@calltx/runtime';
import type { GatewayMetrics } from '../metrics.js';
import { requireTwilioSignature } from '../twilio/signature.js';
import {
  CallStatusParams,
  RecordingStatusParams,
  StreamStatusParams,
  TERMINAL_CALL_STATUSES,
  VoiceParams,
} from '../twilio/params.js';
import { readCallSettings } from '../twilio/call-settings.js';
import { E164, PATHS, TWILIO_PREFIX, dialTwiml, refusalTwiml } from '../twilio/twiml.js';

export interface WebhookDeps {
  subjects: Subjects;
  logger: Logger;
  metrics: GatewayMetrics;
  publicBaseUrl: string;
  authToken: string;
  accountSid: string;
  callerId: string;
  /** Phone numbers are published as an HMAC under this key, never in clear (docs/privacy.md). */
  callerNumberHashKey: string;
  /**
   * STORE_CALLER_NUMBERS: the parties also go out in clear, on the internal `parties.v1` subjects only (never on
   * `calls.v1`), for the services that store them.
   */
  storeCallerNumbers: boolean;
  /** The gateway's bounded buffer (shared with media): resolves when stored; undefined when full. */
  holdEvent: (subject: string, data: Uint8Array, msgId: string) => Promise<void> | undefined;
}

/**
 * How long the voice webhook waits for JetStream to store `call.started` before answering anyway: healthy
 * JetStream answers in milliseconds; during a leader election the event stays held and the call connects.
 */
const VOICE_STORE_WAIT_MS = 1_000;

/**
 * How long a status callback waits for JetStream to store its events before answering 503. Below the read
 * timeout its URL asks Twilio for (`rt=5000`, twilio/signature.ts), so Twilio gets the answer and retries later
 * instead of timing out; an election usually ends within one wait.
 */
const CALLBACK_STORE_WAIT_MS = 4_000;

const now = () => new Date().toISOString();

interface HeldEvent {
  subject: string;
  event: { type: string };
  msgId: string;
}

/**
 * Twilio's HTTP webhooks. Each one is validated and its events are held in the gateway's bounded buffer, which
 * publishes them to JetStream until stored (retrying through a leader election under the same Nats-Msg-Id).
 * A status callback is answered 204 only once its events are stored, else 503 after CALLBACK_STORE_WAIT_MS:
 * Twilio retries it (the URL's connection overrides ask for that), the retry is deduplicated by the Nats-Msg-Id,
 * and nothing is acknowledged that a gateway crash could lose (the buffer is memory). The voice webhook is the
 * exception: a failed one fails the call itself, so while JetStream cannot store `call.started` the call is
 * answered with the event held; only a full buffer answers 503.
 */
export function webhookRouter(deps: WebhookDeps): Router {
  const { subjects, logger, metrics } = deps;
  const router = Router();
  // Only Twilio's paths: the console and the read API live on the same server with their own auth.
  router.use(TWILIO_PREFIX, express.urlencoded({ extended: false, limit: '64kb' }));
  router.use(
    TWILIO_PREFIX,
    requireTwilioSignature({
      authToken: deps.authToken,
      publicBaseUrl: deps.publicBaseUrl,
      onRejected: (reason, path) => {
        metrics.signatureRejections.inc({ route: path, reason });
        logger.warn({ route: path, reason }, 'webhook refused: bad signature');
      },
    }),
  );

  /** Parses the form, refusing requests for another account; responds 400 and returns undefined when invalid. */
  const parse = <S extends z.ZodType<{ AccountSid: string }>>(
    route: string,
    schema: S,
    req: Request,
    res: Response,
  ): z.output<S> | undefined => {
    const result = schema.safeParse(req.body);
    if (!result.success || result.data.AccountSid !== deps.accountSid) {
      const issues = result.success
        ? ['AccountSid: not this account']
        : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      metrics.webhooks.inc({ route, outcome: 'invalid' });
      logger.warn({ route, issues }, 'webhook refused: invalid parameters');
      res
        .status(400)
        .type('text/plain')
        .send(`Invalid parameters: ${issues.join('; ')}`);
      return undefined;
    }
    return result.data;
  };

  /** Holds the events (in order), then answers 204 once all are stored, or 503 (see CALLBACK_STORE_WAIT_MS). */
  const storeThenAnswer = async (route: string, res: Response, callSid: string, events: HeldEvent[]) => {
    const held = events.map(({ subject, event, msgId }) =>
      deps.holdEvent(subject, encodeEvent(event), msgId),
    );
    let timer: NodeJS.Timeout | undefined;
    const stored = held.every((h) => h !== undefined)
      ? await Promise.race([
          Promise.all(held).then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CALLBACK_STORE_WAIT_MS))),
        ])
      : false;
    clearTimeout(timer);
    if (stored) {
      metrics.webhooks.inc({ route, outcome: 'ok' });
      res.status(204).end();
      return;
    }
    metrics.webhooks.inc({ route, outcome: 'unavailable' });
    logger.warn(
      { callSid, route, held: held.filter(Boolean).length, of: held.length },
      'webhook not stored yet: JetStream unavailable or gateway buffer full, asking Twilio to retry',
    );
    res.status(503).set('Retry-After', '2').type('text/plain').send('Temporarily unavailable');
  };

  router.post(PATHS.voice, async (req, res) => {
    const params = parse('voice', VoiceParams, req, res);
    if (!params) return;
    const to = params.To.trim();
    if (!E164.test(to)) {
      metrics.webhooks.inc({ route: 'voice', outcome: 'refused' });
      logger.warn(
        { callSid: params.CallSid, to, reason: 'destination is not an E.164 number' },
        'call refused',
      );
      res.type('text/xml').send(refusalTwiml('Sorry, this call cannot be placed: the number is not valid.'));
      return;
    }
    // A bad language or hints must not fail the call: it is left out (the transcriber's defaults apply) and warned of.
    const { settings, refused } = readCallSettings(req.body as Record<string, unknown>);
    for (const { field, reason } of refused) {
      metrics.callSettingsRefused.inc({ field });
      logger.warn(
        { callSid: params.CallSid, field, reason },
        'call setting refused: the call goes on with the default',
      );
    }
    const event = callEvents.started({
      callSid: params.CallSid,
      accountSid: params.AccountSid,
      at: now(),
      ...publishedParties(params.From, to, deps.callerNumberHashKey),
      direction: params.Direction,
      ...settings,
    });
    const held = [
      deps.holdEvent(
        subjects.call(params.CallSid, 'started'),
        encodeEvent(event),
        `${params.CallSid}:started`,
      ),
    ];
    if (deps.storeCallerNumbers)
      held.push(
        deps.holdEvent(
          subjects.parties(params.CallSid),
          encodeEvent(
            internalEvents.callParties({ callSid: params.CallSid, at: event.at, from: params.From, to }),
          ),
          `${params.CallSid}:parties`,
        ),
      );
    if (held.some((h) => h === undefined)) {
      metrics.webhooks.inc({ route: 'voice', outcome: 'unavailable' });
      logger.error(
        { callSid: params.CallSid },
        'voice webhook refused: gateway buffer full, asking Twilio to retry',
      );
      res.status(503).set('Retry-After', '2').type('text/plain').send('Temporarily unavailable');
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const stored = await Promise.race([
      Promise.all(held).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), VOICE_STORE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    metrics.webhooks.inc({ route: 'voice', outcome: stored ? 'ok' : 'held' });
    if (!stored)
      logger.warn(
        { callSid: params.CallSid },
        'call started while JetStream is unavailable: its event is held',
      );
    logger.info(
      { callSid: params.CallSid, to, language: settings.language, hintsChars: settings.hints?.length },
      'dialing technician',
    );
    res.type('text/xml').send(
      dialTwiml({
        publicBaseUrl: deps.publicBaseUrl,
        callerId: deps.callerId,
        to,
        streamParameters: { callSid: params.CallSid },
      }),
    );
  });

  router.post(PATHS.recordingStatus, async (req, res) => {
    const p = parse('recording-status', RecordingStatusParams, req, res);
    if (!p) return;
    const event = recordingEvents.status({
      callSid: p.CallSid,
      at: now(),
      accountSid: p.AccountSid,
      recordingSid: p.RecordingSid,
      status: p.RecordingStatus,
      recordingUrl: p.RecordingUrl,
      durationSeconds: p.RecordingDuration,
      channels: p.RecordingChannels,
      source: p.RecordingSource,
      startTime: p.RecordingStartTime,
      errorCode: p.ErrorCode,
    });
    await storeThenAnswer('recording-status', res, p.CallSid, [
      {
        subject: subjects.recording(p.CallSid, p.RecordingStatus),
        event,
        msgId: `${p.RecordingSid}:${p.RecordingStatus}`,
      },
    ]);
  });

  router.post(PATHS.streamStatus, async (req, res) => {
    const p = parse('stream-status', StreamStatusParams, req, res);
    if (!p) return;
    const event = callEvents.streamStatus({
      callSid: p.CallSid,
      at: now(),
      streamSid: p.StreamSid,
      streamEvent: p.StreamEvent,
      streamName: p.StreamName,
      streamError: p.StreamError,
    });
    await storeThenAnswer('stream-status', res, p.CallSid, [
      {
        subject: subjects.call(p.CallSid, 'stream-status'),
        event,
        msgId: `${p.StreamSid}:status:${p.StreamEvent}`,
      },
    ]);
  });

  router.post(PATHS.callStatus, async (req, res) => {
    const p = parse('call-status', CallStatusParams, req, res);
    if (!p) return;
    const at = now();
    const events: HeldEvent[] = [
      {
        subject: subjects.call(p.CallSid, 'status'),
        event: callEvents.status({
          callSid: p.CallSid,
          at,
          status: p.CallStatus,
          durationSeconds: p.CallDuration,
          sequenceNumber: p.SequenceNumber,
        }),
        msgId: `${p.CallSid}:status:${p.CallStatus}`,
      },
    ];
    if (TERMINAL_CALL_STATUSES.has(p.CallStatus))
      events.push({
        subject: subjects.call(p.CallSid, 'ended'),
        event: callEvents.ended({
          callSid: p.CallSid,
          at,
          status: p.CallStatus,
          durationSeconds: p.CallDuration,
        }),
        msgId: `${p.CallSid}:ended`,
      });
    await storeThenAnswer('call-status', res, p.CallSid, events);
  });

  return router;
}

/**
 * A party that is a phone number goes out as its keyed hash and last two digits, and its clear field empty; any
 * other party (the agent's `client:` identity) as given: it names a user of the operator's, not a caller.
 */
function publishedParties(from: string, to: string, key: string) {
  const fromNumber = partyNumber(from, key);
  const toNumber = partyNumber(to, key);
  return {
    from: fromNumber ? '' : from,
    to: toNumber ? '' : to,
    ...(fromNumber ? { fromNumber } : {}),
    ...(toNumber ? { toNumber } : {}),
  };
}
