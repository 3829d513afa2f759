/**
 * Where a download may be redirected. The API origin itself is always allowed (and is the only place the
 * credentials go); other hosts must match the allowlist and use https, unless the API itself is plain http
 * (a local simulator), so a redirect can't downgrade a production download.
 */
export class RedirectPolicy {
  constructor(
    private readonly apiOrigin: string,
    private readonly hostPatterns: readonly string[],
  ) {}

  isApiOrigin(url: URL): boolean {
    return url.origin === this.apiOrigin;
  }

  allows(url: URL): boolean {
    if (this.isApiOrigin(url)) return true;
    const apiProtocol = new URL(this.apiOrigin).protocol;
    if (url.protocol !== 'https:' && url.protocol !== apiProtocol) return false;
    if (url.username || url.password) return false;
    const host = url.hostname.toLowerCase();
    return this.hostPatterns.some((pattern) =>
      pattern.startsWith('*.')
        ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
        : host === pattern,
    );
  }
}
