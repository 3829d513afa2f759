import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SrtParser from 'srt-parser-2';
import { WebVTTParser, type CueNode } from 'webvtt-parser';
import { startEmbeddedPostgres } from '@calltx/devstack';
import { createPool } from '@calltx/db';
import { transcriptEvents } from '@calltx/events';
import { responseProblems } from '../testing/openapi.js';
import { KEYS, getJson, newSid, startApi, type ApiHarness } from '../testing/api-harness.js';
import { CALLER_NUMBER_HASH_KEY, seedCall, seedSegment } from '../testing/seed.js';
import { migrateReadModel } from '../../read-model/rebuild.js';
import { ReadModelProjector } from '../../read-model/projector.js';
import { CallsRepository } from './calls-repository.js';

const reader = { apiKey: KEYS.reader };

// The full table of named character references: the parser's default one is incomplete (README), and spec behaviour is what counts.
const htmlEntities = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('webvtt-parser/html-entities.json'), 'utf8'),
) as Record<string, string>;

async function getText(h: ApiHarness, path: string) {
  const response = await fetch(`${h.baseUrl}/api/v1${path}`, { headers: { 'x-api-key': KEYS.reader } });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

interface Utterance {
  speaker: string;
  startMs: number;
  endMs: number;
  text: string;
  words?: Array<{ text: string; startMs: number; endMs: number }>;
  segments?: unknown[];
  language?: string;
}

describe('GET /calls/{callSid}/transcript', () => {
  let h: ApiHarness;
  const callSid = newSid('CA');
  const words = [
    { text: ' The', startMs: 4_000, endMs: 4_200, probability: 0.9 },
    { text: ' pump', startMs: 4_200, endMs: 4_600, probability: 0.8 },
    { text: ' <leaks>', startMs: 4_600, endMs: 5_100, probability: 0.7 },
    { text: ' & drips.', startMs: 5_100, endMs: 5_800, probability: 0.6 },
  ];

  beforeAll(async () => {
    h = await startApi();
    await seedCall(h, { callSid, startedAt: '2025-04-01T10:00:00Z' });
    // Published out of order, both speakers interleaved; one final without text; one from the recording.
    const live = [
      {
        speaker: 'technician',
        sequence: 1,
        startMs: 4_000,
        endMs: 6_000,
        text: ' The pump <leaks> & drips.',
      },
      { speaker: 'agent', sequence: 0, startMs: 500, endMs: 2_250, text: ' Hello, this is support.' },
      { speaker: 'technician', sequence: 0, startMs: 2_000, endMs: 3_500, text: ' Hi --> there.' },
      { speaker: 'agent', sequence: 1, startMs: 7_000, endMs: 7_400, text: '  ' },
      { speaker: 'agent', sequence: 2, startMs: 3_723_004, endMs: 3_724_000, text: ' Bye.' },
    ];
    for (const u of live) {
      await seedSegment(h, {
        callSid,
        source: 'live',
        ...u,
        ...(u.speaker === 'technician' && u.sequence === 1
          ? {
              detail: {
                language: 'en',
                avgLogprob: -0.25,
                noSpeechProb: 0.01,
                segments: [{ startMs: 4_000, endMs: 6_000, text: ' The pump <leaks> & drips.' }],
                words,
              },
            }
          : {}),
      });
    }
    await seedSegment(h, {
      callSid,
      source: 'recording',
      speaker: 'agent',
      sequence: 0,
      startMs: 400,
      endMs: 2_300,
      text: ' Hello, this is support.',
    });
  });
  afterAll(() => h.close());

  it('gives JSON: both speakers merged in time order, with what each final carried', async () => {
    const r = await getJson(h.baseUrl, `/calls/${callSid}/transcript?source=live`, reader);
    expect(r.status).toBe(200);
    expect(responseProblems('GET', '/calls/{callSid}/transcript', 200, r.json)).toEqual([]);
    const body = r.json as { source: string; utterances: Utterance[] };
    expect(body.source).toBe('live');
    expect(body.utterances.map((u) => `${u.startMs}:${u.speaker}`)).toEqual([
      '500:agent',
      '2000:technician',
      '4000:technician',
      '7000:agent',
      '3723004:agent',
    ]);
    const detailed = body.utterances[2]!;
    expect(detailed).toMatchObject({ language: 'en', avgLogprob: -0.25, noSpeechProb: 0.01, words });
    expect(detailed.segments).toHaveLength(1);
    // Finals that carried none of it have none of it: nothing is invented.
    expect(Object.keys(body.utterances[0]!).sort()).toEqual(
      ['endMs', 'modelId', 'segmentId', 'sequence', 'speaker', 'startMs', 'text'].sort(),
    );
  });

  it("defaults to the recording's transcript when there is one", async () => {
    const r = await getJson(h.baseUrl, `/calls/${callSid}/transcript`, reader);
    const body = r.json as { source: string; utterances: Utterance[] };
    expect(body.source).toBe('recording');
    expect(body.utterances.map((u) => u.startMs)).toEqual([400]);
  });

  it('gives WebVTT that the W3C parser reads without errors: voice spans, times, word timestamps', async () => {
    const r = await getText(h, `/calls/${callSid}/transcript?format=vtt&source=live`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="${callSid}-live.vtt"`);
    const tree = new WebVTTParser(htmlEntities).parse(r.text, 'subtitles');
    expect(tree.errors).toEqual([]);
    const text = (nodes: CueNode[]): string =>
      nodes.map((n) => (n.type === 'text' ? n.value : n.type === 'object' ? text(n.children) : '')).join('');
    const cues = tree.cues.map((cue) => {
      const voice = cue.tree.children[0];
      if (voice?.type !== 'object') throw new Error(`cue ${cue.id} is not a voice span`);
      return {
        id: cue.id,
        start: cue.startTime,
        end: cue.endTime,
        voice: `${voice.name}:${voice.value}`,
        text: text(voice.children),
        timestamps: voice.children.filter((n) => n.type === 'timestamp').map((n) => n.value),
      };
    });
    expect(cues).toEqual([
      {
        id: 'agent-0',
        start: 0.5,
        end: 2.25,
        voice: 'v:agent',
        text: 'Hello, this is support.',
        timestamps: [],
      },
      {
        id: 'technician-0',
        start: 2,
        end: 3.5,
        voice: 'v:technician',
        text: 'Hi --> there.',
        timestamps: [],
      },
      {
        id: 'technician-1',
        start: 4,
        end: 6,
        voice: 'v:technician',
        text: 'The pump <leaks> & drips.',
        timestamps: [4.2, 4.6, 5.1],
      },
      { id: 'agent-2', start: 3723.004, end: 3724, voice: 'v:agent', text: 'Bye.', timestamps: [] },
    ]);
    expect(r.text).toContain('\n01:02:03.004 --> 01:02:04.000\n');
  });

  it('gives SRT that srt-parser-2 reads back cue by cue, each prefixed with its speaker', async () => {
    const r = await getText(h, `/calls/${callSid}/transcript?format=srt&source=live`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-subrip; charset=utf-8');
    const cues = new SrtParser().fromSrt(r.text);
    expect(cues.map(({ id, startTime, endTime, text }) => ({ id, startTime, endTime, text }))).toEqual([
      { id: '1', startTime: '00:00:00,500', endTime: '00:00:02,250', text: 'agent: Hello, this is support.' },
      { id: '2', startTime: '00:00:02,000', endTime: '00:00:03,500', text: 'technician: Hi -> there.' },
      {
        id: '3',
        startTime: '00:00:04,000',
        endTime: '00:00:06,000',
        text: 'technician: The pump <leaks> & drips.',
      },
      { id: '4', startTime: '01:02:03,004', endTime: '01:02:04,000', text: 'agent: Bye.' },
    ]);
  });

  it('gives plain text, a line per utterance', async () => {
    const r = await getText(h, `/calls/${callSid}/transcript?format=txt&source=live`);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.text).toBe(
      '[00:00:00.500] agent: Hello, this is support.\n' +
        '[00:00:02.000] technician: Hi --> there.\n' +
        '[00:00:04.000] technician: The pump <leaks> & drips.\n' +
        '[01:02:03.004] agent: Bye.\n',
    );
  });

  it('answers 400 for a bad format, source or CallSid, 404 for an unknown call, 403 without transcripts:read', async () => {
    const problems = async (path: string, status: number, credential = reader) => {
      const r = await getJson(h.baseUrl, path, credential);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect(responseProblems('GET', '/calls/{callSid}/transcript', status, r.json)).toEqual([]);
      return (r.json as { error: { message: string } }).error.message;
    };
    expect(await problems(`/calls/${callSid}/transcript?format=docx`, 400)).toMatch(/^format: /);
    expect(await problems(`/calls/${callSid}/transcript?source=both`, 400)).toMatch(/^source: /);
    expect(await problems('/calls/CA123/transcript', 400)).toMatch(/callSid/);
    expect(await problems(`/calls/${newSid('CA')}/transcript?format=vtt`, 404)).toBe('no such call');
    expect(await problems(`/calls/${callSid}/transcript`, 403, { apiKey: KEYS.callsOnly })).toMatch(
      /transcripts:read/,
    );
  });

  it('gives an empty document for a known call without transcripts yet', async () => {
    const quiet = newSid('CA');
    await seedCall(h, { callSid: quiet, startedAt: '2025-04-01T11:00:00Z' });
    const vtt = await getText(h, `/calls/${quiet}/transcript?format=vtt`);
    expect(vtt.status).toBe(200);
    expect(vtt.text).toBe('WEBVTT\n\n');
    const json = await getJson(h.baseUrl, `/calls/${quiet}/transcript`, reader);
    expect(json.json).toEqual({ callSid: quiet, source: 'live', utterances: [] });
  });
});

interface Hit {
  callSid: string;
  match?: {
    rank: number;
    speaker: string;
    source: string;
    startMs: number;
    snippet: Array<{ text: string; highlight: boolean }>;
  };
}

describe('GET /calls?q= (full-text search over final transcripts)', () => {
  let h: ApiHarness;
  const sids = {
    leaks: newSid('CA'),
    oncePump: newSid('CA'),
    twinA: newSid('CA'),
    twinB: newSid('CA'),
    german: newSid('CA'),
    unrelated: newSid('CA'),
  };

  const search = async (query: string, credential: { apiKey: string } = reader) => {
    const r = await getJson(h.baseUrl, `/calls?${query}`, credential);
    expect(responseProblems('GET', '/calls', r.status, r.json)).toEqual([]);
    return r;
  };
  const hits = async (query: string) =>
    ((await search(query)).json as { calls: Hit[]; nextCursor: string | null }).calls;

  beforeAll(async () => {
    h = await startApi();
    const seed = async (
      callSid: string,
      startedAt: string,
      utterances: Array<[speaker: string, text: string]>,
      technician = '+15550100000',
      language?: string,
    ) => {
      await seedCall(h, { callSid, startedAt, technician });
      for (const [i, [speaker, text]] of utterances.entries()) {
        await seedSegment(h, {
          callSid,
          speaker,
          source: 'live',
          sequence: i,
          startMs: i * 2_000,
          text,
          ...(language ? { detail: { language } } : {}),
        });
      }
    };
    await seed(
      sids.leaks,
      '2025-05-01T09:00:00Z',
      [
        ['agent', 'Good morning, how can I help?'],
        ['technician', 'The pump leaks. I replaced the pump seal but the pump still leaks.'],
      ],
      '+15550100001',
      'en',
    );
    await seed(
      sids.oncePump,
      '2025-05-02T09:00:00Z',
      [['agent', 'Check the pump tomorrow please, and bring the ladder and the blue toolbox from the van.']],
      '+15550100002',
      'en',
    );
    // The same words, so the same rank: the newer call first.
    await seed(sids.twinA, '2025-05-03T09:00:00Z', [['technician', 'The boiler pressure drops.']]);
    await seed(sids.twinB, '2025-05-04T09:00:00Z', [['technician', 'The boiler pressure drops.']]);
    await seed(
      sids.german,
      '2025-05-05T09:00:00Z',
      [['technician', 'Die Heizung tropft im Keller.']],
      undefined,
      'de',
    );
    await seed(sids.unrelated, '2025-05-06T09:00:00Z', [['agent', 'Your invoice was sent yesterday.']]);
  });
  afterAll(() => h.close());

  it('ranks the calls whose transcripts match, best first, with a marked snippet of the best utterance', async () => {
    const found = await hits('q=pump');
    expect(found.map((c) => c.callSid)).toEqual([sids.leaks, sids.oncePump]);
    const best = found[0]!.match!;
    expect(best).toMatchObject({ speaker: 'technician', source: 'live', startMs: 2_000 });
    expect(best.rank).toBeGreaterThan(found[1]!.match!.rank);
    expect(best.snippet.filter((p) => p.highlight).map((p) => p.text)).toEqual(['pump', 'pump', 'pump']);
    expect(best.snippet.map((p) => p.text).join('')).toBe(
      'The pump leaks. I replaced the pump seal but the pump still leaks.',
    );
  });

  it('stems words in the language of each utterance and takes web search syntax', async () => {
    expect((await hits('q=leaking%20pumps')).map((c) => c.callSid)).toEqual([sids.leaks]);
    expect((await hits('q=Kellers')).map((c) => c.callSid)).toEqual([sids.german]);
    expect((await hits(`q=${encodeURIComponent('"pump seal"')}`)).map((c) => c.callSid)).toEqual([
      sids.leaks,
    ]);
    expect((await hits('q=pump%20-ladder')).map((c) => c.callSid)).toEqual([sids.leaks]);
    expect((await hits('q=invoice%20or%20boiler')).map((c) => c.callSid)).toEqual([
      sids.unrelated,
      sids.twinB,
      sids.twinA,
    ]);
    expect(await hits('q=thermostat')).toEqual([]);
  });

  it('combines with the filters and pages by rank, then start, without repeats or gaps', async () => {
    expect((await hits('q=pump&number=%2B15550100002')).map((c) => c.callSid)).toEqual([sids.oncePump]);
    expect((await hits('q=pump&from=2025-05-02T00:00:00Z')).map((c) => c.callSid)).toEqual([sids.oncePump]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await search(`q=pump%20or%20boiler&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      const page = r.json as { calls: Hit[]; nextCursor: string | null };
      seen.push(...page.calls.map((c) => c.callSid));
      cursor = page.nextCursor;
    } while (cursor && seen.length < 10);
    const all = await hits('q=pump%20or%20boiler');
    expect(seen).toEqual(all.map((c) => c.callSid));
    expect(new Set(seen)).toEqual(new Set([sids.leaks, sids.oncePump, sids.twinA, sids.twinB]));
    expect(seen.indexOf(sids.twinB)).toBe(seen.indexOf(sids.twinA) - 1);
  });

  it('refuses a search without transcripts:read, without words, or with a cursor of another list', async () => {
    const forbidden = await search('q=pump', { apiKey: KEYS.callsOnly });
    expect(forbidden.status).toBe(403);
    expect((await search('number=555', { apiKey: KEYS.callsOnly })).status).toBe(200);
    const empty = await search(`q=${encodeURIComponent('!!! --')}`);
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.json)).toContain('q: must contain a word to search for');
    const plain = (await search('limit=1')).json as { nextCursor: string };
    const mixed = await search(`q=pump&cursor=${plain.nextCursor}`);
    expect(mixed.status).toBe(400);
    expect(JSON.stringify(mixed.json)).toContain('different q');
  });
});

describe('the read model on PGlite (the demo runs the api on it)', () => {
  it('indexes, searches and exports transcripts there too', async () => {
    const db = await startEmbeddedPostgres();
    const pool = createPool(db.url, { max: 1 });
    try {
      await migrateReadModel(pool);
      const callSid = newSid('CA');
      const now = new Date().toISOString();
      await pool.query(`INSERT INTO api_calls (call_sid, started_at, first_event_at) VALUES ($1, $2, $2)`, [
        callSid,
        now,
      ]);
      await new ReadModelProjector(pool).transcript(
        transcriptEvents.final({
          callSid,
          speaker: 'technician',
          segmentId: 'seg-0',
          sequence: 0,
          startMs: 1_000,
          endMs: 2_000,
          text: ' The pumps are leaking.',
          final: true,
          source: 'live',
          modelId: 'test',
          timing: { audioEndAt: now, publishedAt: now, latencyMs: 1 },
          language: 'en',
          words: [{ text: ' The', startMs: 1_000, endMs: 1_200, probability: 0.5 }],
        }),
      );
      const repository = new CallsRepository(pool, CALLER_NUMBER_HASH_KEY);
      const [hit, ...rest] = await repository.list({ search: 'pump leak', limit: 10 });
      expect(rest).toEqual([]);
      expect(hit?.match?.snippet.filter((p) => p.highlight).map((p) => p.text)).toEqual(['pumps', 'leaking']);
      const [next] = await repository.list({
        search: 'pump leak',
        limit: 10,
        after: { rankKey: hit!.match!.rankKey, startedKey: hit!.startedKey, callSid },
      });
      expect(next).toBeUndefined();
      const [utterance] = await repository.utterances(callSid);
      expect(utterance?.words).toEqual([{ text: ' The', startMs: 1_000, endMs: 1_200, probability: 0.5 }]);
    } finally {
      await pool.end();
      await db.stop();
    }
  }, 120_000);
});
