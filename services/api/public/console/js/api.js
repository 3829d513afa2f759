/* global URL, fetch, location */
// The read API, with the signed-in agent's bearer token. A 401 ends the session.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class ApiClient {
  /** @param {{ base?: string, onUnauthorized?: (error: ApiError) => void }} [options] */
  constructor({ base = '/api/v1', onUnauthorized = () => {} } = {}) {
    this.base = base;
    this.onUnauthorized = onUnauthorized;
    this.token = null;
  }

  url(path, params = {}) {
    const url = new URL(this.base + path, location.origin);
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{ params?: Record<string, unknown>, body?: unknown, auth?: boolean }} [options]
   */
  async request(method, path, { params, body, auth = true } = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(this.url(path, params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    const json = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new ApiError(
        response.status,
        json?.error?.code ?? 'error',
        json?.error?.message ?? `HTTP ${response.status}`,
      );
      if (response.status === 401 && auth) this.onUnauthorized(error);
      throw error;
    }
    return json;
  }

  /** A document the API serves (a transcript export), as a Blob. */
  async blob(path, params) {
    const response = await fetch(this.url(path, params), {
      headers: this.token ? { Authorization: `Bearer ${this.token}` } : {},
      cache: 'no-store',
    });
    if (!response.ok) {
      const json = await response.json().catch(() => null);
      throw new ApiError(
        response.status,
        json?.error?.code ?? 'error',
        json?.error?.message ?? `HTTP ${response.status}`,
      );
    }
    return /** @type {Blob} */ (await response.blob());
  }

  get(path, params) {
    return this.request('GET', path, { params });
  }

  post(path, body, options = {}) {
    return this.request('POST', path, { body, ...options });
  }
}
