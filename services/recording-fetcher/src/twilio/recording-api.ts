import { InvalidMessageError, schemas } from '@calltx/events';

const API_VERSION = '2010-04-01';

/**
 * URLs of Twilio's Recording resource, built from SIDs checked against their patterns and the configured API
 * base: the RecordingUrl a callback carries is never fetched (it could point anywhere).
 */
export class TwilioRecordingApi {
  readonly origin: string;
  readonly authorization: string;

  constructor(
    private readonly baseUrl: string,
    private readonly accountSid: string,
    authToken: string,
  ) {
    this.origin = new URL(baseUrl).origin;
    this.authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  }

  /** The dual-channel WAV of a recording (each call leg in its own channel). */
  dualChannelWavUrl(recordingSid: string): URL {
    const url = this.resourceUrl(recordingSid, 'wav');
    url.searchParams.set('RequestedChannels', '2');
    return url;
  }

  /** The first page of a call's recordings (Twilio's list resource, filtered by CallSid). */
  callRecordingsListUrl(callSid: string, pageSize: number): URL {
    const checked = schemas.callSid.safeParse(callSid);
    if (!checked.success)
      throw new InvalidMessageError('CallSid', [`${JSON.stringify(callSid)} is not a CallSid`]);
    const url = new URL(`${this.base}${this.listPath}`);
    url.searchParams.set('CallSid', checked.data);
    url.searchParams.set('PageSize', String(pageSize));
    return url;
  }

  /**
   * A further page, from the list's `next_page_uri` (a path on the API). Only this account's Recordings list is
   * followed: the credentials go with the request.
   */
  listPageUrl(nextPageUri: string): URL | null {
    if (!nextPageUri.startsWith(`${this.listPath}?`)) return null;
    return new URL(`${this.base}${nextPageUri}`);
  }

  /** The RecordingUrl a callback carries: the resource without extension. */
  recordingUrl(recordingSid: string): string {
    return this.resourceUrl(recordingSid, '').toString();
  }

  /** The resource itself: DELETE removes the recording and its media at Twilio. */
  resourceJsonUrl(recordingSid: string): URL {
    return this.resourceUrl(recordingSid, 'json');
  }

  private get base(): string {
    return this.baseUrl.replace(/\/+$/, '');
  }

  private get listPath(): string {
    return `/${API_VERSION}/Accounts/${this.accountSid}/Recordings.json`;
  }

  private resourceUrl(recordingSid: string, extension: 'wav' | 'json' | ''): URL {
    const checked = schemas.recordingSid.safeParse(recordingSid);
    if (!checked.success)
      throw new InvalidMessageError('RecordingSid', [
        `${JSON.stringify(recordingSid)} is not a RecordingSid`,
      ]);
    const file = extension ? `${checked.data}.${extension}` : checked.data;
    return new URL(`${this.base}/${API_VERSION}/Accounts/${this.accountSid}/Recordings/${file}`);
  }
}
