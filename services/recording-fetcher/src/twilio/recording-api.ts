import { InvalidMessageError, schemas } from '@calltx/shared';

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

  /** The resource itself: DELETE removes the recording and its media at Twilio. */
  resourceJsonUrl(recordingSid: string): URL {
    return this.resourceUrl(recordingSid, 'json');
  }

  private resourceUrl(recordingSid: string, extension: 'wav' | 'json'): URL {
    const checked = schemas.recordingSid.safeParse(recordingSid);
    if (!checked.success)
      throw new InvalidMessageError('RecordingSid', [
        `${JSON.stringify(recordingSid)} is not a RecordingSid`,
      ]);
    const base = this.baseUrl.replace(/\/+$/, '');
    return new URL(
      `${base}/${API_VERSION}/Accounts/${this.accountSid}/Recordings/${checked.data}.${extension}`,
    );
  }
}
