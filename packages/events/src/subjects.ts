import { InvalidMessageError } from './errors.js';

/** Media Stream tracks as Twilio names them: inbound = from the browser (agent), outbound = to it. */
export const TRACKS = ['inbound', 'outbound'] as const;
export type Track = (typeof TRACKS)[number];
/** The last token of a media subject: one track (media.frames.v1/v2), or `both` (media.frames.v3: a call's tracks in one message). */
export const MEDIA_SCOPES = [...TRACKS, 'both'] as const;
export type MediaScope = (typeof MEDIA_SCOPES)[number];

export const CALL_EVENTS = [
  'started',
  'status',
  'stream-started',
  'stream-stopped',
  'stream-status',
  'dtmf',
  'mark',
  'ended',
  'audio-stored',
  'erased',
] as const;
export type CallEventName = (typeof CALL_EVENTS)[number];

/** Twilio's recording callback statuses, plus `stored` once the recording-fetcher has archived it. */
export const RECORDING_STATUSES = ['in-progress', 'completed', 'absent', 'failed', 'stored'] as const;
export type RecordingStatus = (typeof RECORDING_STATUSES)[number];

export const TRANSCRIPT_KINDS = ['partial', 'final'] as const;
export type TranscriptKind = (typeof TRANSCRIPT_KINDS)[number];

/** The public subject families (v1) and the internal ones. */
export const FAMILIES = {
  calls: 'calls.v1',
  media: 'media.v1',
  recordings: 'recordings.v1',
  transcripts: 'transcripts.v1',
  /** Internal: 16 kHz speech segments (live) from stream-ingest to the transcriber, partial or final. */
  audio: 'audio.v1',
  /** Internal: post-call transcription jobs (one recorded channel each) from recording-fetcher. */
  transcribe: 'transcribe.v1',
  /**
   * Internal: a call's parties as given (`From`/`To` in clear), published only where the operator keeps them
   * (`STORE_CALLER_NUMBERS`); never on `calls.v1` (docs/privacy.md).
   */
  parties: 'parties.v1',
  /** Messages a consumer gave up on (invalid, failed for good, or out of deliveries), kept for inspection and replay. */
  deadletter: 'deadletter.v1',
  /** Internal: erasure of one call, asked of every service holding its data (`requested`), and their answers (`done.<service>`). */
  erasure: 'erasure.v1',
} as const;
export type Family = keyof typeof FAMILIES;
/** Families whose messages are consumed, and so may end as dead letters. */
export type SourceFamily = Exclude<Family, 'deadletter'>;
const SOURCE_FAMILIES = (Object.keys(FAMILIES) as Family[]).filter(
  (family): family is SourceFamily => family !== 'deadletter',
);

/** The services that hold a call's data and confirm its erasure (`erasure.v1.<CallSid>.done.<service>`). */
export const ERASURE_SERVICES = ['stream-ingest', 'transcriber', 'recording-fetcher'] as const;
export type ErasureService = (typeof ERASURE_SERVICES)[number];

export const CALL_SID_PATTERN = /^CA[0-9a-fA-F]{32}$/;
const SPEAKER_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

export type ParsedSubject =
  | { family: 'calls'; callSid: string; event: CallEventName }
  | { family: 'media'; callSid: string; track: MediaScope }
  | { family: 'recordings'; callSid: string; status: RecordingStatus }
  | { family: 'transcripts'; callSid: string; speaker: string; kind: TranscriptKind }
  | { family: 'audio'; callSid: string; speaker: string; kind: TranscriptKind }
  | { family: 'transcribe'; callSid: string; speaker: string }
  | { family: 'parties'; callSid: string }
  | { family: 'deadletter'; callSid: string; source: SourceFamily }
  | { family: 'erasure'; callSid: string; step: 'requested' }
  | { family: 'erasure'; callSid: string; step: 'done'; service: ErasureService };

function token(kind: string, value: string, valid: (value: string) => boolean): string {
  // Subject tokens come from the outside world (Twilio, configs): a '.', '*' or '>' would reroute messages.
  if (!valid(value))
    throw new InvalidMessageError('subject token', [`${kind} ${JSON.stringify(value)} is not valid`]);
  return value;
}
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (value: string): value is T =>
    (values as readonly string[]).includes(value);

/**
 * The one place subjects are built and parsed. An optional namespace prefix isolates test runs or tenants on a
 * shared server; production runs without one, so subjects read exactly as documented.
 */
export class Subjects {
  readonly prefix: string;

  constructor(prefix = '') {
    token('prefix', prefix, (p) => p === '' || /^[A-Za-z0-9_-]+$/.test(p));
    this.prefix = prefix;
  }

  private join(...parts: string[]): string {
    return this.prefix ? `${this.prefix}.${parts.join('.')}` : parts.join('.');
  }

  call(callSid: string, event: CallEventName): string {
    return this.join(FAMILIES.calls, callSid_(callSid), token('call event', event, oneOf(CALL_EVENTS)));
  }

  /** A track's media (`inbound`, `outbound`), or `both` for messages that carry the call's tracks together. */
  media(callSid: string, track: MediaScope): string {
    return this.join(FAMILIES.media, callSid_(callSid), token('track', track, oneOf(MEDIA_SCOPES)));
  }

  recording(callSid: string, status: RecordingStatus): string {
    return this.join(
      FAMILIES.recordings,
      callSid_(callSid),
      token('recording status', status, oneOf(RECORDING_STATUSES)),
    );
  }

  transcript(callSid: string, speaker: string, kind: TranscriptKind): string {
    return this.join(
      FAMILIES.transcripts,
      callSid_(callSid),
      speaker_(speaker),
      token('transcript kind', kind, oneOf(TRANSCRIPT_KINDS)),
    );
  }

  /** A live speech segment for the transcriber: `partial` while the utterance goes on, `final` when it ends. */
  audio(callSid: string, speaker: string, kind: TranscriptKind): string {
    return this.join(
      FAMILIES.audio,
      callSid_(callSid),
      speaker_(speaker),
      token('segment kind', kind, oneOf(TRANSCRIPT_KINDS)),
    );
  }

  /** Wildcard over one lifecycle event across all calls (e.g. every `ended`, for the recording reconciler). */
  allCalls(event: CallEventName): string {
    return this.join(FAMILIES.calls, '*', token('call event', event, oneOf(CALL_EVENTS)));
  }

  /** Wildcard over live segments of one kind across all calls (the transcriber's consumers filter by kind). */
  allAudio(kind: TranscriptKind): string {
    return this.join(FAMILIES.audio, '*', '*', token('segment kind', kind, oneOf(TRANSCRIPT_KINDS)));
  }

  /** Wildcard over transcript events of one kind across all calls and speakers (e.g. every final). */
  allTranscripts(kind: TranscriptKind): string {
    return this.join(FAMILIES.transcripts, '*', '*', token('transcript kind', kind, oneOf(TRANSCRIPT_KINDS)));
  }

  /** Wildcard over one call's transcript events of one kind, every speaker (e.g. to check what was transcribed). */
  callTranscripts(callSid: string, kind: TranscriptKind): string {
    return this.join(
      FAMILIES.transcripts,
      callSid_(callSid),
      '*',
      token('transcript kind', kind, oneOf(TRANSCRIPT_KINDS)),
    );
  }

  transcribe(callSid: string, speaker: string): string {
    return this.join(FAMILIES.transcribe, callSid_(callSid), speaker_(speaker));
  }

  /**
   * The call's parties as given, in clear (internal, only with STORE_CALLER_NUMBERS). The last token keeps the
   * subject below the call's wildcard (`all('parties', callSid)`), so a purge by call finds it as in every family.
   */
  parties(callSid: string): string {
    return this.join(FAMILIES.parties, callSid_(callSid), 'given');
  }

  /** Where a consumer keeps a message of `source` it gave up on. */
  deadLetter(callSid: string, source: SourceFamily): string {
    return this.join(
      FAMILIES.deadletter,
      callSid_(callSid),
      token('dead-letter source', source, oneOf(SOURCE_FAMILIES)),
    );
  }

  /** The request to erase one call everywhere (published by the api). */
  erasureRequested(callSid: string): string {
    return this.join(FAMILIES.erasure, callSid_(callSid), 'requested');
  }

  /** A service's confirmation that it holds nothing of the call any more. */
  erasureDone(callSid: string, service: ErasureService): string {
    return this.join(
      FAMILIES.erasure,
      callSid_(callSid),
      'done',
      token('erasure service', service, oneOf(ERASURE_SERVICES)),
    );
  }

  /** Wildcard over every call's erasure request (each service's consumer). */
  allErasureRequests(): string {
    return this.join(FAMILIES.erasure, '*', 'requested');
  }

  /** Wildcard over every service's confirmation for every call (the api's consumer). */
  allErasureDone(): string {
    return this.join(FAMILIES.erasure, '*', 'done', '*');
  }

  /** Wildcard over a family, optionally narrowed to one call. */
  all(family: Family, callSid?: string): string {
    return callSid === undefined
      ? this.join(FAMILIES[family], '>')
      : this.join(FAMILIES[family], callSid_(callSid), '>');
  }

  /** JetStream stream name for a family (stream names can't contain '.'). */
  streamName(family: Family): string {
    const base = family.toUpperCase();
    return this.prefix ? `${this.prefix}_${base}` : base;
  }

  parse(subject: string): ParsedSubject | null {
    const parts = subject.split('.');
    if (this.prefix) {
      if (parts.shift() !== this.prefix) return null;
    }
    const [family, version, callSid, a, b, ...rest] = parts;
    if (version !== 'v1' || callSid === undefined || !CALL_SID_PATTERN.test(callSid) || rest.length > 0)
      return null;
    switch (family) {
      case 'parties':
        return a === 'given' && b === undefined ? { family: 'parties', callSid } : null;
      case 'calls':
        return b === undefined && a !== undefined && oneOf(CALL_EVENTS)(a)
          ? { family: 'calls', callSid, event: a }
          : null;
      case 'media':
        return b === undefined && a !== undefined && oneOf(MEDIA_SCOPES)(a)
          ? { family: 'media', callSid, track: a }
          : null;
      case 'recordings':
        return b === undefined && a !== undefined && oneOf(RECORDING_STATUSES)(a)
          ? { family: 'recordings', callSid, status: a }
          : null;
      case 'transcripts':
        return a !== undefined && SPEAKER_PATTERN.test(a) && b !== undefined && oneOf(TRANSCRIPT_KINDS)(b)
          ? { family: 'transcripts', callSid, speaker: a, kind: b }
          : null;
      case 'audio':
        return a !== undefined && SPEAKER_PATTERN.test(a) && b !== undefined && oneOf(TRANSCRIPT_KINDS)(b)
          ? { family: 'audio', callSid, speaker: a, kind: b }
          : null;
      case 'transcribe':
        return b === undefined && a !== undefined && SPEAKER_PATTERN.test(a)
          ? { family: 'transcribe', callSid, speaker: a }
          : null;
      case 'deadletter':
        return b === undefined && a !== undefined && oneOf(SOURCE_FAMILIES)(a)
          ? { family: 'deadletter', callSid, source: a }
          : null;
      case 'erasure':
        if (a === 'requested' && b === undefined) return { family: 'erasure', callSid, step: 'requested' };
        return a === 'done' && b !== undefined && oneOf(ERASURE_SERVICES)(b)
          ? { family: 'erasure', callSid, step: 'done', service: b }
          : null;
      default:
        return null;
    }
  }
}

function callSid_(value: string): string {
  return token('CallSid', value, (v) => CALL_SID_PATTERN.test(v));
}
function speaker_(value: string): string {
  return token('speaker', value, (v) => SPEAKER_PATTERN.test(v));
}
