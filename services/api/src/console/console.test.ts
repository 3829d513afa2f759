import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsUrlForTests } from '@calltx/devstack';
import type { CallEvent } from '@calltx/events';
import { publishEvent } from '@calltx/nats';
import { simulateCall, type SimulatedCall } from '@calltx/twilio-sim';
import { AGENT, newSid, startApi, transcript, type ApiHarness } from '../api/testing/api-harness.js';
import { seedCall, seedRecording, seedSegment } from '../api/testing/seed.js';
import { CONSOLE_VENDOR_DIR, VOICE_SDK_ASSET } from './index.js';
import { buildConsoleAssets } from './build-assets.js';
import { ARTIFACTS_DIR, launchChromium } from './testing/chromium.js';
import { tone, wavFile } from './testing/audio.js';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  PUBLIC_BASE_URL,
  startGateway,
  type GatewayHarness,
} from '@calltx/gateway/testing';

const EVENTS_CLIENT_DIR = fileURLToPath(new URL('../../../../packages/events-client', import.meta.url));
const TECHNICIAN = '+15550104242';

/** What the agent and the technician say in the simulated call, as the transcriber would publish it. */
const CONVERSATION = [
  { speaker: 'agent', text: 'Hello, this is the support desk.' },
  { speaker: 'technician', text: 'Hi, the compressor on site four keeps tripping.' },
  { speaker: 'agent', text: 'Which model is installed there?' },
  { speaker: 'technician', text: 'It is the K-200, serial ending in 77.' },
];

describe('agent console', () => {
  let gateway: GatewayHarness;
  let api: ApiHarness;
  let browser: Browser;
  let page: Page;
  let example: ChildProcess | undefined;

  beforeAll(async () => {
    gateway = await startGateway();
    [api, browser] = await Promise.all([
      startApi({ subjectPrefix: gateway.subjects.prefix }),
      launchChromium(),
      existsSync(join(CONSOLE_VENDOR_DIR, VOICE_SDK_ASSET)) ? undefined : buildConsoleAssets(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => console.error('page error:', error.message));
  });
  afterAll(async () => {
    example?.kill('SIGTERM');
    await browser?.close();
    await api?.close();
    await gateway?.close();
  });

  async function signIn(): Promise<void> {
    await page.goto(`${api.baseUrl}/`);
    await page.fill('input[name=identity]', AGENT.identity);
    await page.fill('input[name=password]', 'wrong password');
    await page.click('#sign-in-form button[type=submit]');
    await expect.poll(() => page.textContent('#sign-in-error')).toBe('identity or password is wrong');
    await page.fill('input[name=password]', AGENT.password);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#live-view:not([hidden])');
    await expect.poll(() => page.textContent('#live-connection')).toBe('live');
    expect(await page.textContent('#who-name')).toBe(AGENT.identity);
  }

  /** The example consumer of @calltx/events-client, following one call; resolves once it listens. */
  async function startExample(callSid: string): Promise<string[]> {
    const lines: string[] = [];
    example = spawn(
      process.execPath,
      ['--conditions=@calltx/source', '--import', 'tsx', 'examples/print-transcripts.ts', '--call', callSid],
      {
        cwd: EVENTS_CLIENT_DIR,
        env: { ...process.env, NATS_URL: natsUrlForTests(), NATS_SUBJECT_PREFIX: gateway.subjects.prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    createInterface({ input: example.stdout! }).on('line', (line) => lines.push(line));
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      example!.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('listening on')) resolve();
      });
      example!.once('exit', (code) => reject(new Error(`example exited with ${code}: ${stderr}`)));
    });
    return lines;
  }

  const lineTexts = (selector: string) =>
    page.$$eval(selector, (nodes) =>
      nodes.map((n) => `${n.querySelector('.who')?.textContent}: ${n.querySelector('.text')?.textContent}`),
    );

  it('shows a simulated call live: both speakers labelled, partials replaced by finals', async () => {
    await signIn();
    expect(await page.textContent('#dial-status')).toContain('Calls go out through Twilio');
    const callSid = newSid('CA');
    const exampleLines = await startExample(callSid);

    // The simulator plays the call through the gateway (signed webhook, media stream) as Twilio would.
    const call: Promise<SimulatedCall> = simulateCall({
      publicBaseUrl: PUBLIC_BASE_URL,
      connectBaseUrl: gateway.baseUrl,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: `client:${AGENT.identity}`,
      to: TECHNICIAN,
      callSid,
      wav: {
        sampleRate: 8000,
        agent: tone(4, 440, (s) => s % 2 === 0),
        technician: tone(4, 660, (s) => s % 2 === 1),
      },
      speed: 1,
    });
    await page.waitForSelector(`#live-calls button[data-call-sid="${callSid}"][aria-pressed="true"]`);
    // The gateway publishes the number as a keyed hash: the console shows its last two digits.
    expect(await page.textContent(`#live-calls button[data-call-sid="${callSid}"] .call-party`)).toBe('…42');

    for (const [sequence, { speaker, text }] of CONVERSATION.entries()) {
      const words = text.split(' ');
      const utterance = { callSid, speaker, sequence: Math.floor(sequence / 2), startMs: sequence * 2_500 };
      await api.publishTranscript(
        transcript({ ...utterance, text: words.slice(0, 2).join(' '), final: false }),
      );
      await page.waitForSelector(`.line.partial.speaker-${speaker}`);
      await api.publishTranscript(
        transcript({ ...utterance, text: words.slice(0, -1).join(' '), final: false }),
      );
      await api.publishTranscript(transcript({ ...utterance, text, final: true }));
    }
    await expect
      .poll(() => lineTexts('#live-transcript .line:not(.partial)'))
      .toEqual(CONVERSATION.map((u) => `${u.speaker === 'agent' ? 'Agent' : 'Technician'}: ${u.text}`));
    expect(await page.$$('#live-transcript .line.partial')).toHaveLength(0);
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'console-live.png') });

    const simulated = await call;
    expect(simulated.end).toBe('completed');
    await page.waitForSelector(`#live-calls li.is-ended button[data-call-sid="${callSid}"]`);

    // The example consumer got the call's finals, in order, and nothing else.
    await expect.poll(() => exampleLines.length).toBe(CONVERSATION.length);
    expect(exampleLines.map((line) => line.replace(/^#\d+ \S+ \S+\s+\S+\s+/, ''))).toEqual(
      CONVERSATION.map((u) => u.text),
    );

    // Follows new lines until the agent scrolls up; then offers a way back.
    for (let i = 0; i < 30; i++) {
      await api.publishTranscript(
        transcript({
          callSid,
          speaker: i % 2 ? 'agent' : 'technician',
          sequence: 10 + i,
          startMs: 20_000 + i * 1_000,
          text: `Line ${i} of the rest of the call.`,
          final: true,
        }),
      );
    }
    const transcriptBox = '#live-transcript';
    await expect.poll(() => page.$$eval(`${transcriptBox} .line`, (n) => n.length)).toBe(34);
    const distanceFromBottom = () =>
      page.$eval(transcriptBox, (el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    await expect.poll(distanceFromBottom).toBeLessThan(5);
    await page.$eval(transcriptBox, (el) => {
      el.scrollTop = 0;
      el.dispatchEvent(new Event('scroll'));
    });
    await api.publishTranscript(
      transcript({
        callSid,
        speaker: 'agent',
        sequence: 99,
        startMs: 90_000,
        text: 'Anything else?',
        final: true,
      }),
    );
    await page.waitForSelector('#jump-latest:not([hidden])');
    expect(await page.$eval(transcriptBox, (el) => el.scrollTop)).toBe(0);
    await page.click('#jump-latest');
    await expect.poll(distanceFromBottom).toBeLessThan(5);
    await expect.poll(() => exampleLines.length).toBe(CONVERSATION.length + 31);

    // Personal data stays out of the logs.
    for (const logs of [api.logs(), gateway.logs.text]) {
      expect(logs).not.toContain(TECHNICIAN);
      for (const { text } of CONVERSATION) expect(logs).not.toContain(text);
    }

    // Once the call is erased, nothing of it stays on screen.
    const erased: CallEvent = { type: 'call.erased.v1', callSid, at: new Date().toISOString() };
    await publishEvent(api.js, api.subjects.call(callSid, 'erased'), erased, `${callSid}:erased`);
    await page.waitForSelector(`#live-calls button[data-call-sid="${callSid}"]`, { state: 'detached' });
    await expect.poll(() => page.textContent(transcriptBox)).toBe('This call was erased.');
    expect(await page.textContent('#live-title')).toBe('No call selected');
  });

  it('loads the bundled Voice SDK in the browser', async () => {
    // A string, not a function: vitest would rewrite a function's import() for Node.
    const sdk = await page.evaluate(`import('/console/vendor/${VOICE_SDK_ASSET}').then((module) => ({
      device: typeof module.Device,
      supported: module.Device.isSupported,
    }))`);
    expect(sdk).toEqual({ device: 'function', supported: true });
  });

  it('passes the language and hints of the dial form to the Voice SDK as connect params', async () => {
    const dialer = await browser.newPage();
    try {
      // Twilio's cloud is out of reach: a stand-in SDK records what the console asks it to connect.
      await dialer.route(`**/console/vendor/${VOICE_SDK_ASSET}`, (route) =>
        route.fulfill({
          contentType: 'text/javascript',
          body: `export class Device {
            on() {}
            async connect(options) { globalThis.connected = options.params; return { on() {}, parameters: {} }; }
          }`,
        }),
      );
      await dialer.goto(`${api.baseUrl}/`);
      await dialer.fill('input[name=identity]', AGENT.identity);
      await dialer.fill('input[name=password]', AGENT.password);
      await dialer.click('#sign-in-form button[type=submit]');
      await dialer.waitForSelector('#dial-form:not([hidden])');
      const connected = () => dialer.evaluate('globalThis.connected');

      await dialer.fill('#dial-number', TECHNICIAN);
      await dialer.selectOption('#dial-language', 'de');
      await dialer.fill('#dial-hints', '  Wärmepumpe, Vaillant  ');
      await dialer.click('#dial-button');
      await expect.poll(connected).toEqual({ To: TECHNICIAN, language: 'de', hints: 'Wärmepumpe, Vaillant' });
      expect(await dialer.getAttribute('#dial-hints', 'maxlength')).toBe('1000');

      // Left at their defaults, neither is sent: the gateway's defaults apply.
      await dialer.reload();
      await dialer.waitForSelector('#dial-form:not([hidden])');
      await dialer.fill('#dial-number', TECHNICIAN);
      await dialer.click('#dial-button');
      await expect.poll(connected).toEqual({ To: TECHNICIAN });
    } finally {
      await dialer.close();
    }
  });

  it('lists past calls with search, and shows one beside its recordings', async () => {
    const stored = newSid('CA');
    const failed = newSid('CA');
    await seedCall(api, {
      callSid: stored,
      startedAt: '2025-04-01T09:00:00Z',
      endedAt: '2025-04-01T09:02:05Z',
      status: 'completed',
      technician: TECHNICIAN,
      agent: 'client:alice',
      durationMs: 125_000,
    });
    await seedCall(api, {
      callSid: failed,
      startedAt: '2025-04-01T11:00:00Z',
      endedAt: '2025-04-01T11:00:30Z',
      status: 'completed',
      technician: '+15550109999',
      agent: 'client:bob',
    });
    const agent = tone(2, 440, () => true);
    const technician = tone(2, 660, () => true);
    const recordingSid = newSid('RE');
    const files = {
      dual: wavFile([agent, technician]),
      agent: wavFile([agent]),
      technician: wavFile([technician]),
    };
    const objects = await Promise.all(
      Object.entries(files).map(async ([role, wav], i) => {
        const key = `calls/${stored}/recordings/${recordingSid}/${role}.wav`;
        await api.objectStore.putObject(key, wav, { contentType: 'audio/wav' });
        return { role, channel: i === 0 ? null : (i as 1 | 2), key, bytes: wav.length, durationMs: 2_000 };
      }),
    );
    await seedRecording(api, {
      recordingSid,
      callSid: stored,
      status: 'stored',
      durationMs: 2_000,
      objects,
    });
    await seedRecording(api, {
      recordingSid: newSid('RE'),
      callSid: failed,
      status: 'failed',
      error: { source: 'fetcher', code: 'too-large' },
    });
    for (const [sequence, { speaker, text }] of CONVERSATION.entries()) {
      await seedSegment(api, {
        callSid: stored,
        speaker,
        source: 'recording',
        sequence,
        startMs: sequence * 400,
        text,
      });
    }

    await page.click('nav button[data-view=history]');
    await page.waitForSelector(`#calls-body tr[data-call-sid="${stored}"]`);
    await page.waitForSelector(`#calls-body tr[data-call-sid="${failed}"]`);
    await page.fill('#search-form input[name=number]', TECHNICIAN);
    await page.fill('#search-form input[name=from]', '2025-04-01');
    await page.fill('#search-form input[name=to]', '2025-04-01');
    await page.click('#search-form button[type=submit]');
    await expect
      .poll(() => page.$$eval('#calls-body tr', (rows) => rows.map((r) => r.getAttribute('data-call-sid'))))
      .toEqual([stored]);

    await page.click(`#calls-body tr[data-call-sid="${stored}"]`);
    await page.waitForSelector('#detail-recordings audio');
    expect(await page.$$eval('#detail-recordings .player-label', (n) => n.map((l) => l.textContent))).toEqual(
      ['Both speakers (dual) · 0:02', 'Agent · 0:02', 'Technician · 0:02'],
    );
    await expect
      .poll(() => lineTexts('#detail-transcript .line'))
      .toEqual(CONVERSATION.map((u) => `${u.speaker === 'agent' ? 'Agent' : 'Technician'}: ${u.text}`));
    // The presigned URL plays in the page (content security policy and storage both allow it).
    // Page code as a string: the tests compile without the DOM library.
    const seconds = await page.evaluate(`new Promise((resolve, reject) => {
      const audio = document.querySelector('#detail-recordings audio');
      audio.addEventListener('loadedmetadata', () => resolve(audio.duration), { once: true });
      audio.addEventListener('error', () => reject(new Error('audio error ' + audio.error?.code)), { once: true });
      audio.preload = 'metadata';
      audio.load();
    })`);
    expect(seconds).toBeCloseTo(2, 1);
    expect(await page.textContent('#detail-facts')).toContain('2:05');
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'console-history.png') });

    await page.fill('#search-form input[name=number]', '');
    await page.click('#search-form button[type=submit]');
    await page.click(`#calls-body tr[data-call-sid="${failed}"]`);
    await expect.poll(() => page.textContent('#detail-recordings')).toContain('The recording failed.');
    expect(await page.textContent('#detail-recordings')).toContain('fetcher too-large');
    expect(await page.textContent('#detail-transcript')).toContain('No transcript for this call.');
  });

  it('finds a call by its words, seeks the player to a clicked word, marks the word being said, downloads exports', async () => {
    const callSid = newSid('CA');
    await seedCall(api, {
      callSid,
      startedAt: '2025-04-02T09:00:00Z',
      endedAt: '2025-04-02T09:00:04Z',
      status: 'completed',
      technician: '+15550107777',
    });
    const technician = tone(4, 660, () => true);
    const dual = wavFile([tone(4, 440, () => true), technician]);
    const recordingSid = newSid('RE');
    const key = `calls/${callSid}/recordings/${recordingSid}/dual.wav`;
    await api.objectStore.putObject(key, dual, { contentType: 'audio/wav' });
    await seedRecording(api, {
      recordingSid,
      callSid,
      status: 'stored',
      durationMs: 4_000,
      objects: [{ role: 'dual', channel: null, key, bytes: dual.length, durationMs: 4_000 }],
    });
    const words = [
      { text: ' The', startMs: 1_000, endMs: 1_400, probability: 0.9 },
      { text: ' boiler', startMs: 1_400, endMs: 2_000, probability: 0.9 },
      { text: ' rattles.', startMs: 2_000, endMs: 2_900, probability: 0.9 },
    ];
    await seedSegment(api, {
      callSid,
      speaker: 'technician',
      source: 'recording',
      sequence: 0,
      startMs: 1_000,
      endMs: 3_000,
      text: ' The boiler rattles.',
      detail: { words, language: 'en' },
    });

    await page.fill('#search-form input[name=q]', 'rattling boilers');
    await page.fill('#search-form input[name=from]', '');
    await page.fill('#search-form input[name=to]', '');
    await page.click('#search-form button[type=submit]');
    await expect
      .poll(() => page.$$eval('#calls-body tr[data-call-sid]', (rows) => rows.map((r) => r.dataset.callSid)))
      .toEqual([callSid]);
    expect(await page.$$eval('#calls-body tr.hit mark', (marks) => marks.map((m) => m.textContent))).toEqual([
      'boiler',
      'rattles',
    ]);

    await page.click(`#calls-body tr[data-call-sid="${callSid}"]`);
    await page.waitForSelector('#detail-transcript .word');
    expect(await page.$$eval('#detail-transcript .word', (n) => n.map((w) => w.textContent))).toEqual([
      'The',
      ' boiler',
      ' rattles.',
    ]);
    const currentTime = () =>
      page.$eval('#detail-recordings audio', (a) => (a as { currentTime: number }).currentTime);
    expect(await currentTime()).toBe(0);
    await page.click('#detail-transcript .word[data-start="2000"]');
    // Playback goes on from there; the word said is marked as the player reports its time.
    await expect.poll(currentTime).toBeGreaterThanOrEqual(2);
    expect(await currentTime()).toBeLessThan(2.9);
    await page.$eval('#detail-recordings audio', (a) => (a as { pause(): void }).pause());
    await expect
      .poll(() => page.$$eval('#detail-transcript .speaking', (n) => n.map((w) => w.textContent)))
      .toEqual([' rattles.']);
    await page.click('#detail-transcript .word[data-start="1000"]');
    await expect.poll(currentTime).toBeGreaterThanOrEqual(1);
    expect(await currentTime()).toBeLessThan(1.4);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#detail-downloads button[data-format=vtt]'),
    ]);
    expect(download.suggestedFilename()).toBe(`${callSid}-recording.vtt`);
    const vtt = await readFile((await download.path())!, 'utf8');
    expect(vtt).toBe(
      'WEBVTT\n\ntechnician-0\n00:00:01.000 --> 00:00:03.000\n' +
        '<v technician>The<00:00:01.400> boiler<00:00:02.000> rattles.</v>\n\n',
    );
    await page.screenshot({ path: join(ARTIFACTS_DIR, 'console-words.png') });
  });
});
