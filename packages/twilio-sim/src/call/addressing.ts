/**
 * Twilio reaches the gateway at PUBLIC_BASE_URL and signs URLs as written there, but the simulator may have
 * to connect somewhere else (e.g. http://127.0.0.1:8080 behind a tunnel's public name). This maps a public
 * URL to the address to actually connect to; URLs outside the public base are used as they are.
 */
export class Addressing {
  private readonly publicBase: string;
  private readonly connectBase: string;

  constructor(publicBaseUrl: string, connectBaseUrl: string = publicBaseUrl) {
    this.publicBase = withTrailingSlash(asHttp(publicBaseUrl));
    this.connectBase = withTrailingSlash(asHttp(connectBaseUrl));
  }

  /** The public URL of a path under the public base (e.g. `/twilio/voice`). */
  publicUrl(path: string): string {
    return new URL(path.replace(/^\//, ''), this.publicBase).toString();
  }

  /** Where to connect for `publicUrl`; ws(s) URLs stay ws(s), following the connect base's http/https. */
  connectUrl(publicUrl: string): string {
    const isSocket = /^wss?:/i.test(publicUrl);
    const http = asHttp(publicUrl);
    if (!http.startsWith(this.publicBase)) return publicUrl;
    const mapped = this.connectBase + http.slice(this.publicBase.length);
    return isSocket ? mapped.replace(/^http/i, 'ws') : mapped;
  }
}

function asHttp(url: string): string {
  return url.replace(/^ws(s?):/i, 'http$1:');
}

function withTrailingSlash(url: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}
