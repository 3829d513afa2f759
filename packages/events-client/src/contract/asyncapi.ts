import { z } from 'zod';
import { EVENT_TYPES, STREAM_POLICIES, Subjects } from '@calltx/events';

/** The public families, each with the subject token that follows `<family>.<CallSid>` for every event type. */
const CHANNELS = {
  transcripts: {
    address: 'transcripts.v1.{callSid}.{speaker}.{kind}',
    title: 'Transcripts',
    description:
      'Transcript events of one call and speaker. `kind` is `partial` (the utterance so far, replaced by later ' +
      'partials and by the final) or `final` (the utterance, never revised). Live transcripts come while the call ' +
      'is on (`source: live`); transcripts of the recording follow after the call (`source: recording`). ' +
      "Finals also carry `language` (ISO 639-1), `avgLogprob`, `noSpeechProb`, Whisper's timestamped `segments` and, " +
      'when the model can time words, `words`, all times in ms of call time (optional: finals published before ' +
      'these fields existed lack them).',
    parameters: {
      callSid: 'Twilio CallSid: CA followed by 32 hex digits.',
      speaker: 'Speaker role, e.g. `agent` or `technician` (lower case letters, digits and `-`).',
      kind: 'partial or final.',
    },
    messages: { 'transcript.partial.v1': 'partial', 'transcript.final.v1': 'final' },
  },
  calls: {
    address: 'calls.v1.{callSid}.{event}',
    title: 'Call lifecycle',
    description:
      "Lifecycle of one call, from the agent's dial to the stored stream audio. `call.started.v1` carries the " +
      "parties: the agent's client identity as given, and phone numbers never in clear but as a keyed hash and " +
      'their last two digits (`fromNumber`, `toNumber`; docs/privacy.md). Personal data all the same. ' +
      '`call.erased.v1` ends a call that was erased: its other messages are purged from every stream.',
    parameters: {
      callSid: 'Twilio CallSid: CA followed by 32 hex digits.',
      event: 'The event name, as in the message list.',
    },
    messages: {
      'call.started.v1': 'started',
      'call.status.v1': 'status',
      'call.stream-started.v1': 'stream-started',
      'call.stream-stopped.v1': 'stream-stopped',
      'call.stream-status.v1': 'stream-status',
      'call.dtmf.v1': 'dtmf',
      'call.mark.v1': 'mark',
      'call.ended.v1': 'ended',
      'call.audio-stored.v1': 'audio-stored',
      'call.erased.v1': 'erased',
    },
  },
  recordings: {
    address: 'recordings.v1.{callSid}.{status}',
    title: 'Recordings',
    description:
      "Twilio's recording callbacks as received (`in-progress`, `completed`, `absent`, `failed`), then " +
      '`stored` once the dual-channel recording and one file per speaker are archived in object storage, or ' +
      '`failed` with `recording.fetch-failed.v1` when the recording-fetcher gave up on it.',
    parameters: {
      callSid: 'Twilio CallSid: CA followed by 32 hex digits.',
      status: 'in-progress, completed, absent, failed or stored.',
    },
    messages: {
      'recording.status.v1': 'in-progress | completed | absent | failed',
      'recording.stored.v1': 'stored',
      'recording.fetch-failed.v1': 'failed',
    },
  },
} as const;

type Family = keyof typeof CHANNELS;

const SUMMARIES: Record<string, string> = {
  'transcript.partial.v1':
    'The utterance so far; replaced by the next partial or the final with the same segmentId.',
  'transcript.final.v1': 'One finished utterance; supersedes every partial with the same segmentId.',
  'call.started.v1': "The agent's call reached the gateway; the technician is being dialled.",
  'call.status.v1': "Twilio's call status callback.",
  'call.stream-started.v1': 'The media stream of both tracks started; maps tracks to speakers.',
  'call.stream-stopped.v1': 'The gateway published every frame of the stream it received.',
  'call.stream-status.v1': "Twilio's media stream status callback.",
  'call.dtmf.v1': 'A key pressed during the call.',
  'call.mark.v1': 'A media stream mark.',
  'call.ended.v1': 'The call ended (terminal call status).',
  'call.audio-stored.v1': 'The streamed audio of every speaker is stored as WAV files.',
  'call.erased.v1': 'The call was erased everywhere; forget it. Nothing of the call follows.',
  'recording.status.v1':
    "Twilio's recording status callback; when the callback was lost, the same event as read back from Twilio's Recordings list (same Nats-Msg-Id).",
  'recording.stored.v1': 'The recording is archived: dual-channel file and one file per speaker.',
  'recording.fetch-failed.v1':
    'The recording-fetcher gave up on a completed recording (error code and message); a later stored supersedes it.',
};

const DESCRIPTION = `Public events of calltx, published on NATS JetStream. Payloads are JSON (UTF-8); every payload has a
\`type\` naming the event and its version.

## Subjects and streams

| subjects | stream | kept for |
| --- | --- | --- |
${(Object.keys(CHANNELS) as Family[])
  .map(
    (family) =>
      `| \`${new Subjects().all(family)}\` | \`${new Subjects().streamName(family)}\` | ${days(STREAM_POLICIES[family].maxAgeMs)} days |`,
  )
  .join('\n')}

A deployment may set a namespace prefix (\`NATS_SUBJECT_PREFIX\`, empty in production): subjects then start with
\`<prefix>.\` and stream names with \`<prefix>_\`.

## Delivery

- Every event is stored by JetStream before it is acknowledged to its producer; producers retry until stored, so
  delivery is **at least once**.
- Each event is published with a \`Nats-Msg-Id\` derived from its natural id, so retries within the stream's
  duplicate window (${(Object.keys(CHANNELS) as Family[]).map((f) => `${f}: ${hours(STREAM_POLICIES[f].duplicateWindowMs)} h`).join(', ')})
  are stored once. Beyond it a duplicate is possible: handle events idempotently (transcripts by \`segmentId\` and
  \`final\`, recordings by \`recordingSid\` and status, calls by \`callSid\` and \`type\`).
- Producers add fields within a version (ignore fields you do not know); a breaking change gets a new \`type\` and a
  new subject version (\`v2\`).

## Ordering

- Within a stream, events are delivered in the order they were stored: the stream sequence increases strictly and an
  ordered consumer delivers without gaps or duplicates.
- Transcripts: the finals of one call and speaker carry an increasing \`sequence\` (and increasing \`startMs\`). Order a
  conversation by \`startMs\` across speakers. A final supersedes the partials with its \`segmentId\`; drop a partial that
  arrives after its final.
- Calls: events of one call may interleave with other calls' events; use \`at\` for the time of the fact.

## Replay

Create an ordered consumer (ephemeral, no acks, in memory) on the stream with **one** filter subject (NATS 2.9
compatible), e.g. \`transcripts.v1.<CallSid>.>\` for one call or \`transcripts.v1.*.*.final\` for every final:

- from a point in time: \`deliver_policy: by_start_time\`, \`opt_start_time: <RFC 3339>\`;
- after the last event you processed: \`deliver_policy: by_start_sequence\`, \`opt_start_seq: <sequence + 1>\`;
- everything kept: \`deliver_policy: all\`; live only: \`deliver_policy: new\`.

The TypeScript package \`@calltx/events-client\` does this and validates every payload against these schemas.
The gateway's HTTP API serves the same transcript events as Server-Sent Events whose ids are stream sequences.
`;

/** The AsyncAPI 3 document for the public families, from the zod schemas the services publish with. */
export function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  for (const family of Object.keys(CHANNELS) as Family[]) {
    const channel = CHANNELS[family];
    const policy = STREAM_POLICIES[family];
    channels[family] = {
      address: channel.address,
      title: channel.title,
      description: channel.description,
      parameters: Object.fromEntries(
        Object.entries(channel.parameters).map(([name, description]) => [name, { description }]),
      ),
      messages: Object.fromEntries(
        Object.keys(channel.messages).map((type) => [type, { $ref: `#/components/messages/${type}` }]),
      ),
      'x-jetstream': {
        stream: new Subjects().streamName(family),
        subjects: new Subjects().all(family),
        retention: 'limits',
        maxAgeSeconds: policy.maxAgeMs / 1000,
        duplicateWindowSeconds: policy.duplicateWindowMs / 1000,
      },
    };
    operations[`receive${family[0]!.toUpperCase()}${family.slice(1)}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${family}` },
      summary: `Receive ${channel.title.toLowerCase()} events, live or replayed.`,
      messages: Object.keys(channel.messages).map((type) => ({
        $ref: `#/channels/${family}/messages/${type}`,
      })),
    };
    for (const [type, subjectToken] of Object.entries(channel.messages)) {
      const schema = EVENT_TYPES[type];
      if (!schema) throw new Error(`no schema for event type ${type}`);
      schemas[type] = tidy(z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }));
      messages[type] = {
        name: type,
        title: type,
        summary: SUMMARIES[type] ?? type,
        contentType: 'application/json',
        headers: {
          type: 'object',
          properties: {
            'Nats-Msg-Id': {
              type: 'string',
              description: 'Natural id of the event; JetStream stores it once.',
            },
          },
        },
        payload: { $ref: `#/components/schemas/${type}` },
        'x-subject-token': subjectToken,
      };
    }
  }
  const missing = Object.keys(EVENT_TYPES).filter((type) => !(type in messages));
  if (missing.length > 0) throw new Error(`event types without a channel: ${missing.join(', ')}`);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'calltx public events',
      version: '1.0.0',
      description: DESCRIPTION,
    },
    defaultContentType: 'application/json',
    servers: {
      nats: {
        host: 'nats:4222',
        protocol: 'nats',
        description: 'The deployment’s NATS server with JetStream (2.9 or later).',
      },
    },
    channels,
    operations,
    components: { messages, schemas },
  };
}

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Drops what zod adds for its own exactness but a reader only trips over: `$schema` on every payload, the
 * safe-integer bounds of unbounded integers, and the regex beside `format: date-time` (which says it in words).
 */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === '$schema') continue;
    if ((key === 'minimum' || key === 'maximum') && SAFE_INTEGER_BOUNDS.has(value as number)) continue;
    if (key === 'pattern' && record.format === 'date-time') continue;
    out[key] = tidy(value);
  }
  return out;
}

function days(ms: number): number {
  return ms / 86_400_000;
}
function hours(ms: number): number {
  return ms / 3_600_000;
}
