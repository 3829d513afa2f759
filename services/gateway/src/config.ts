import { z } from 'zod';
import {
  CALLER_NUMBER_VARIABLES,
  booleanFlag,
  httpUrl,
  loadConfig,
  pickVariables,
  speakerMap,
  variable,
  type Config,
} from '@calltx/config';
import { NATS_VARIABLES } from '@calltx/nats';
import { RUNTIME_VARIABLES } from '@calltx/runtime';
import { TWILIO_ACCOUNT_VARIABLES } from '@calltx/twilio-account';

export const GATEWAY_VARIABLES = {
  ...NATS_VARIABLES,
  ...pickVariables(TWILIO_ACCOUNT_VARIABLES, ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']),
  TWILIO_CALLER_ID: variable(
    z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number'),
    'Caller ID (E.164) shown to the technician.',
  ),
  ...CALLER_NUMBER_VARIABLES,
  STORE_CALLER_NUMBERS: variable(
    booleanFlag(false),
    'Keep the parties of a call (From/To) in clear too: the gateway publishes them on the internal ' +
      '`parties.v1` subjects (stream PARTIES), and stream-ingest and the api store them beside the keyed hash. ' +
      'Never on the public `calls.v1` events. Off: phone numbers exist only as a keyed hash and last two ' +
      'digits. See docs/privacy.md.',
  ),
  PUBLIC_BASE_URL: variable(
    httpUrl.transform((url) => url.replace(/\/+$/, '')),
    'Public base URL of the gateway as Twilio sees it (signatures are computed against it, not the Host header).',
  ),
  ...RUNTIME_VARIABLES,
  TRACK_SPEAKERS: variable(
    speakerMap(['inbound', 'outbound']).default({ inbound: 'agent', outbound: 'technician' }),
    'Media Stream track → speaker, e.g. inbound=agent,outbound=technician.',
  ),
  MEDIA_FLUSH_MS: variable(
    z.coerce.number().int().min(0).max(100).default(20),
    'Longest time (ms) the gateway holds received audio frames before publishing them as one message.',
  ),
  MEDIA_MESSAGE_SCOPE: variable(
    z.enum(['call', 'track']).default('call'),
    'Media published to JetStream as one message per call and flush with both tracks (`call`, media.frames.v3) or one per track (`track`, v2: for stream-ingest replicas that do not read v3 yet, during a rolling upgrade).',
  ),
  MEDIA_BUFFER_MAX_FRAMES: variable(
    z.coerce.number().int().min(100).default(150_000),
    'Frames the gateway buffers while NATS is unreachable; beyond it frames are counted as lost.',
  ),
  MEDIA_START_TIMEOUT_MS: variable(
    z.coerce.number().int().min(100).default(10_000),
    'Time (ms) a media-stream socket may stay open without sending `start` before the gateway closes it (1008). Twilio sends `start` at once.',
  ),
  MEDIA_MAX_SOCKETS: variable(
    z.coerce.number().int().min(1).default(2_000),
    'Most media-stream sockets one gateway holds open; further upgrades are refused with 503 and counted.',
  ),
};

export type GatewayConfig = Config<typeof GATEWAY_VARIABLES>;

export const loadGatewayConfig = (env: Record<string, string | undefined> = process.env): GatewayConfig =>
  loadConfig(GATEWAY_VARIABLES, env);
