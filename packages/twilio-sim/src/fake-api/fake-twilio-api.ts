import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import { decodeWav, downmixToMono, encodeWav, readWavInfo } from '../audio/wav.js';
import { rfc2822 } from '../dates.js';
import { FaultState, sendMediaBody, type RecordingFaults } from './recording-faults.js';

export interface FakeTwilioApiOptions {
  accountSid: string;
  authToken: string;
  /** Port on 127.0.0.1; 0 or omitted = any free port. */
  port?: number;
}

/**
 * A Recording resource's `status` as Twilio reports it: `processing` until the file is ready (then the media is
 * not served yet), `completed`, or `absent`/`failed` when there will be no file.
 */
export type RecordingResourceStatus = 'processing' | 'completed' | 'absent' | 'failed';

/** What the fake knows about a recording besides its audio (for the `.json` resource). */
export interface RecordingInfo {
  callSid?: string;
  /** Defaults to `completed`. */
  status?: RecordingResourceStatus;
  /** When recording started; defaults to when it was added. */
  startTime?: Date;
  faults?: RecordingFaults;
}

export interface ApiRequestLogEntry {
  method: string;
  /** Path with query string, e.g. `/2010-04-01/Accounts/AC…/Recordings/RE….wav?RequestedChannels=2`. */
  path: string;
  status: number;
  /** False when the response was cut off (truncation fault, client gone). */
  completed: boolean;
}

/** A local server speaking the part of Twilio's REST API our system uses: the Recordings resource. */
export interface FakeTwilioApi {
  /** Base URL, e.g. `http://127.0.0.1:41234` (what TWILIO_API_BASE_URL should be set to). */
  readonly url: string;
  readonly accountSid: string;
  /** Makes a recording downloadable. `wav` is a RIFF/WAVE file (16-bit PCM). */
  addRecording(recordingSid: string, wav: Buffer, info?: RecordingInfo): void;
  /** Moves a recording on, e.g. from `processing` to `completed`. */
  setStatus(recordingSid: string, status: RecordingResourceStatus): void;
  /** Replaces a recording's faults (counters restart). */
  setFaults(recordingSid: string, faults: RecordingFaults): void;
  hasRecording(recordingSid: string): boolean;
  /** The RecordingUrl Twilio puts in callbacks: the resource URI without extension. */
  recordingUrl(recordingSid: string): string;
  /** An unauthenticated link to the media, like the storage URL Twilio redirects downloads to. */
  mediaUrl(recordingSid: string): string;
  /** Every request served, in order of completion. */
  readonly requests: readonly ApiRequestLogEntry[];
  close(): Promise<void>;
}

interface StoredRecording {
  wav: Buffer;
  channels: number;
  durationSec: number;
  callSid: string | undefined;
  status: RecordingResourceStatus;
  startTime: Date;
  faults: FaultState;
}

const API_VERSION = '2010-04-01';
/** Twilio's list paging: 50 per page unless PageSize says otherwise, at most 1000. */
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

/** Starts the fake Twilio REST API on 127.0.0.1. */
export async function startFakeTwilioApi(options: FakeTwilioApiOptions): Promise<FakeTwilioApi> {
  const { accountSid, authToken } = options;
  const recordings = new Map<string, StoredRecording>();
  const requests: ApiRequestLogEntry[] = [];
  const expectedAuth = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64');

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req, res, next) => {
    const path = req.originalUrl;
    res.once('close', () => {
      requests.push({ method: req.method, path, status: res.statusCode, completed: res.writableFinished });
    });
    next();
  });

  const apiRoot = `/${API_VERSION}/Accounts/:accountSid`;
  app.use(`/${API_VERSION}`, (req, res, next) => {
    if (req.headers.authorization === expectedAuth) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="Twilio API"');
    twilioError(res, 401, 20003, 'Authenticate');
  });
  app.use(apiRoot, (req: Request<{ accountSid: string }>, res, next) => {
    // Credentials are good but for another account: Twilio does not reveal the resource.
    if (req.params.accountSid === accountSid) return next();
    notFound(req, res);
  });

  // The Recordings list, newest first, filtered by CallSid and paged as Twilio pages it.
  app.get(`${apiRoot}/Recordings.json`, (req: Request<{ accountSid: string }>, res) => {
    const query = new URL(req.originalUrl, 'http://fake').searchParams;
    const callSid = query.get('CallSid');
    const pageSize = Number(query.get('PageSize') ?? DEFAULT_PAGE_SIZE);
    const page = Number(query.get('Page') ?? 0);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
      return twilioError(res, 400, 20001, `PageSize must be between 1 and ${MAX_PAGE_SIZE}`);
    if (!Number.isInteger(page) || page < 0) return twilioError(res, 400, 20001, 'Page must be 0 or more');
    const matching = [...recordings.entries()]
      .filter(([, recording]) => callSid === null || recording.callSid === callSid)
      .sort(([a, x], [b, y]) => y.startTime.getTime() - x.startTime.getTime() || a.localeCompare(b));
    const start = page * pageSize;
    const slice = matching.slice(start, start + pageSize);
    const listUri = (pageNumber: number, token?: string) => {
      const params = new URLSearchParams();
      if (callSid !== null) params.set('CallSid', callSid);
      params.set('PageSize', String(pageSize));
      params.set('Page', String(pageNumber));
      if (token) params.set('PageToken', token);
      return `/${API_VERSION}/Accounts/${accountSid}/Recordings.json?${params.toString()}`;
    };
    const last = slice.at(-1);
    const hasNext = start + pageSize < matching.length && last !== undefined;
    res.json({
      recordings: slice.map(([sid, recording]) => resourceJson(sid, recording, accountSid)),
      start,
      end: start + Math.max(0, slice.length - 1),
      page,
      page_size: pageSize,
      uri: req.originalUrl,
      first_page_uri: listUri(0),
      previous_page_uri: page > 0 ? listUri(page - 1) : null,
      next_page_uri: hasNext ? listUri(page + 1, `PA${last[0]}`) : null,
    });
  });

  app.get(`${apiRoot}/Recordings/:file`, async (req: Request<{ accountSid: string; file: string }>, res) => {
    const { sid, extension } = splitFile(req.params.file);
    const recording = recordings.get(sid);
    if (!recording) return notFound(req, res);
    if (extension === 'json') return res.json(resourceJson(sid, recording, accountSid));
    if (extension !== 'wav') return notFound(req, res);
    if (recording.status !== 'completed') return notFound(req, res);

    const faults = recording.faults;
    if (faults.faults.delayMs) await sleep(faults.faults.delayMs);
    if (faults.notReadyLeft > 0) {
      faults.notReadyLeft--;
      return notFound(req, res);
    }
    if (faults.status5xxLeft > 0) {
      faults.status5xxLeft--;
      return twilioError(res, 500, 20500, 'An internal server error has occurred');
    }
    if (faults.faults.redirectTo) return res.redirect(302, faults.faults.redirectTo);
    const requested = req.query['RequestedChannels'];
    if (requested === '2' && recording.channels < 2) {
      return twilioError(res, 400, 16113, 'Cannot download a dual-channel presentation of a mono recording');
    }
    const body = requested === '1' && recording.channels > 1 ? monoOf(recording.wav) : recording.wav;
    await sendMediaBody(res, body, 'audio/x-wav', faults.faults);
  });

  app.delete(`${apiRoot}/Recordings/:file`, (req: Request<{ accountSid: string; file: string }>, res) => {
    const { sid, extension } = splitFile(req.params.file);
    if (extension !== 'json' && extension !== '') return notFound(req, res);
    if (!recordings.delete(sid)) return notFound(req, res);
    res.status(204).end();
  });

  // Storage-style link: no credentials, body faults only (what a redirect target would serve).
  app.get('/media/:file', async (req: Request<{ file: string }>, res) => {
    const { sid, extension } = splitFile(req.params.file);
    const recording = recordings.get(sid);
    if (!recording || extension !== 'wav') return notFound(req, res);
    const { truncateAt, slowBytesPerSec, contentLengthOverride } = recording.faults.faults;
    await sendMediaBody(res, recording.wav, 'audio/x-wav', {
      truncateAt,
      slowBytesPerSec,
      contentLengthOverride,
    });
  });

  app.use(notFound);
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    void error;
    if (!res.headersSent) twilioError(res, 500, 20500, 'An internal server error has occurred');
  });

  const server: Server = createServer(app);
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    accountSid,
    addRecording(recordingSid, wav, info = {}) {
      const header = readWavInfo(wav);
      recordings.set(recordingSid, {
        wav,
        channels: header.channels,
        durationSec: Math.round(header.durationSec),
        callSid: info.callSid,
        status: info.status ?? 'completed',
        startTime: info.startTime ?? new Date(),
        faults: new FaultState(info.faults ?? {}),
      });
    },
    setStatus(recordingSid, status) {
      const recording = recordings.get(recordingSid);
      if (!recording) throw new Error(`no recording ${recordingSid}`);
      recording.status = status;
    },
    setFaults(recordingSid, faults) {
      const recording = recordings.get(recordingSid);
      if (!recording) throw new Error(`no recording ${recordingSid}`);
      recording.faults = new FaultState(faults);
    },
    hasRecording: (recordingSid) => recordings.has(recordingSid),
    recordingUrl: (recordingSid) => `${url}/${API_VERSION}/Accounts/${accountSid}/Recordings/${recordingSid}`,
    mediaUrl: (recordingSid) => `${url}/media/${recordingSid}.wav`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

function splitFile(file: string): { sid: string; extension: string } {
  const dot = file.indexOf('.');
  return dot < 0 ? { sid: file, extension: '' } : { sid: file.slice(0, dot), extension: file.slice(dot + 1) };
}

function monoOf(wav: Buffer): Buffer {
  return encodeWav(downmixToMono(decodeWav(wav, 8000)));
}

/** Twilio's REST error body. */
function twilioError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

function notFound(req: Request, res: Response): void {
  twilioError(res, 404, 20404, `The requested resource ${req.path} was not found`);
}

/** The Recording resource as `GET …/Recordings/RE….json` returns it (the fields our system may read). */
function resourceJson(sid: string, recording: StoredRecording, accountSid: string): Record<string, unknown> {
  const started = rfc2822(recording.startTime);
  return {
    account_sid: accountSid,
    api_version: API_VERSION,
    call_sid: recording.callSid ?? null,
    conference_sid: null,
    channels: recording.channels,
    date_created: started,
    date_updated: started,
    start_time: started,
    duration: String(recording.durationSec),
    sid,
    source: 'StartCallRecordingTwiML',
    status: recording.status,
    error_code: recording.status === 'absent' ? 16102 : recording.status === 'failed' ? 16105 : null,
    track: 'both',
    uri: `/${API_VERSION}/Accounts/${accountSid}/Recordings/${sid}.json`,
  };
}
