import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseProblems } from '../testing/openapi.js';
import {
  ACCOUNT_SID,
  AGENT,
  JWT_SECRET,
  KEYS,
  VOICE,
  getJson,
  startApi,
  type ApiHarness,
  type Credential,
  type FetchedJson,
} from '../testing/api-harness.js';

const tokenFor = (claims: object, options: jwt.SignOptions = {}, secret = JWT_SECRET) =>
  jwt.sign(claims, secret, {
    algorithm: 'HS256',
    issuer: 'calltx',
    audience: 'calltx-api',
    expiresIn: 600,
    ...options,
  });

describe('API authentication', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(() => h.close());

  /** Fetches and checks the answer against openapi.yaml before returning it. */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    template: string,
    credential: Credential,
    init: RequestInit = {},
  ) {
    const response = await getJson(h.baseUrl, path, credential, { method, ...init });
    expect(responseProblems(method, template, response.status, response.json)).toEqual([]);
    return response;
  }
  const errorOf = (r: FetchedJson) => (r.json as { error: { code: string; message: string } }).error;

  it('refuses requests without a credential, with a message saying what to send', async () => {
    for (const [path, template] of [
      ['/calls', '/calls'],
      [`/calls/CA${'0'.repeat(32)}`, '/calls/{callSid}'],
      ['/transcripts/stream', '/transcripts/stream'],
    ] as const) {
      const r = await call('GET', path, template, null);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="calltx"');
      expect(errorOf(r)).toEqual({
        code: 'unauthorized',
        message: 'authentication required: send X-API-Key: <key> or Authorization: Bearer <token>',
      });
    }
  });

  it.each([
    ['an unknown API key', { apiKey: 'ctx_not_a_key' }, 'the API key is not valid'],
    [
      'a token signed with another secret',
      { token: tokenFor({ sub: 'x', scope: 'calls:read' }, {}, 'another-secret-0123456789abcdef0123') },
      'the token is not valid',
    ],
    [
      'an expired token',
      { token: tokenFor({ sub: 'x', scope: 'calls:read' }, { expiresIn: -60 }) },
      'the token has expired',
    ],
    [
      'a token for another audience',
      { token: tokenFor({ sub: 'x', scope: 'calls:read' }, { audience: 'elsewhere' }) },
      'the token is not valid',
    ],
    ['a token without subject', { token: tokenFor({ scope: 'calls:read' }) }, 'the token is not valid'],
    [
      'an unsigned token',
      {
        token: jwt.sign({ sub: 'x', scope: 'calls:read', iss: 'calltx', aud: 'calltx-api' }, '', {
          algorithm: 'none',
        }),
      },
      'the token is not valid',
    ],
  ] as const)('refuses %s with 401', async (_, credential, message) => {
    const r = await call('GET', '/calls', '/calls', credential);
    expect(r.status).toBe(401);
    expect(errorOf(r).message).toBe(message);
  });

  it('refuses a malformed Authorization header and two credentials at once', async () => {
    const basic = await call('GET', '/calls', '/calls', null, {
      headers: { authorization: 'Basic YWxpY2U6cHc=' },
    });
    expect(errorOf(basic).message).toBe('the Authorization header must be "Bearer <token>"');
    const both = await call(
      'GET',
      '/calls',
      '/calls',
      { apiKey: KEYS.reader },
      { headers: { authorization: 'Bearer x' } },
    );
    expect(both.status).toBe(401);
    expect(errorOf(both).message).toBe('send either X-API-Key or Authorization, not both');
  });

  it('answers 403 naming the missing scopes when the credential is valid but not allowed', async () => {
    const listed = await call('GET', '/calls', '/calls', { apiKey: KEYS.callsOnly });
    expect(listed.status).toBe(200);
    const detail = await call('GET', `/calls/CA${'0'.repeat(32)}`, '/calls/{callSid}', {
      apiKey: KEYS.callsOnly,
    });
    expect(detail.status).toBe(403);
    expect(errorOf(detail)).toEqual({
      code: 'forbidden',
      message: 'this credential lacks the scopes transcripts:read, recordings:read',
    });
    const stream = await call('GET', '/transcripts/stream', '/transcripts/stream', {
      apiKey: KEYS.callsOnly,
    });
    expect(stream.status).toBe(403);
    const token = tokenFor({ sub: 'reporting', scope: 'transcripts:read' });
    const byToken = await call('GET', '/calls', '/calls', { token });
    expect(errorOf(byToken).message).toBe('this credential lacks the scope calls:read');
  });

  it('signs an agent in, and the session token carries the agent scopes', async () => {
    const wrong = await call('POST', '/session', '/session', null, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: AGENT.identity, password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong).message).toBe('identity or password is wrong');
    const unknown = await call('POST', '/session', '/session', null, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: 'mallory', password: AGENT.password }),
    });
    expect(errorOf(unknown).message).toBe('identity or password is wrong');
    const malformed = await call('POST', '/session', '/session', null, {
      headers: { 'content-type': 'application/json' },
      body: '{"identity":',
    });
    expect(malformed.status).toBe(400);

    const session = await call('POST', '/session', '/session', null, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(AGENT),
    });
    expect(session.status).toBe(200);
    const { token, expiresAt } = session.json as { token: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(7 * 3600_000);
    const me = await call('GET', '/me', '/me', { token });
    expect(me.json).toEqual({
      subject: AGENT.identity,
      scopes: ['calls:read', 'transcripts:read', 'recordings:read', 'voice:call'],
      voice: { enabled: true },
    });
  });

  it('issues a Voice SDK token only to agents, for the TwiML App and without incoming calls', async () => {
    const forKey = await call('POST', '/voice/token', '/voice/token', { apiKey: KEYS.reader });
    expect(forKey.status).toBe(403);
    const token = tokenFor({ sub: AGENT.identity, scope: 'voice:call' });
    const issued = await call('POST', '/voice/token', '/voice/token', { token });
    expect(issued.status).toBe(200);
    const body = issued.json as { token: string; identity: string };
    expect(body.identity).toBe(AGENT.identity);
    // Twilio verifies it with the API key secret; so do we.
    const claims = jwt.verify(body.token, VOICE.apiKeySecret, { algorithms: ['HS256'] }) as {
      iss: string;
      sub: string;
      grants: {
        identity: string;
        voice: { outgoing: { application_sid: string }; incoming?: { allow: boolean } };
      };
    };
    expect(claims.iss).toBe(VOICE.apiKeySid);
    expect(claims.sub).toBe(ACCOUNT_SID);
    expect(claims.grants.identity).toBe(AGENT.identity);
    expect(claims.grants.voice.outgoing.application_sid).toBe(VOICE.twimlAppSid);
    expect(claims.grants.voice.incoming?.allow).not.toBe(true);
  });

  it('answers unknown routes with 404 once authenticated, 401 before', async () => {
    const anonymous = await getJson(h.baseUrl, '/nothing-here', null);
    expect(anonymous.status).toBe(401);
    const known = await getJson(h.baseUrl, '/nothing-here', { apiKey: KEYS.reader });
    expect(known.status).toBe(404);
    expect(errorOf(known).code).toBe('not_found');
  });

  it('slows down guessing: too many failed sign-ins are answered with 429', async () => {
    const attempt = () =>
      getJson(h.baseUrl, '/session', null, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identity: 'bob', password: 'guess' }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await attempt()).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
  });
});

describe('API without console or voice configuration', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await startApi({
      migrate: false,
      env: {
        API_JWT_SECRET: '',
        CONSOLE_AGENTS: '',
        TWILIO_API_KEY_SID: '',
        TWILIO_API_KEY_SECRET: '',
        TWILIO_TWIML_APP_SID: '',
      },
    });
  });
  afterAll(() => h.close());

  it('refuses sign-in, bearer tokens and voice tokens, and says why', async () => {
    const session = await getJson(h.baseUrl, '/session', null, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(AGENT),
    });
    expect(session.status).toBe(503);
    expect(responseProblems('POST', '/session', 503, session.json)).toEqual([]);
    const bearer = await getJson(h.baseUrl, '/calls', { token: tokenFor({ sub: 'x', scope: 'calls:read' }) });
    expect(bearer.status).toBe(401);
    const me = await getJson(h.baseUrl, '/me', { apiKey: KEYS.reader });
    expect((me.json as { voice: { enabled: boolean } }).voice.enabled).toBe(false);
  });

  it('answers 503 while the tables of the other services do not exist yet', async () => {
    const r = await getJson(h.baseUrl, '/calls', { apiKey: KEYS.reader });
    expect(r.status).toBe(503);
    expect(responseProblems('GET', '/calls', 503, r.json)).toEqual([]);
    expect((r.json as { error: { message: string } }).error.message).toMatch(/not set up yet/);
  });
});
