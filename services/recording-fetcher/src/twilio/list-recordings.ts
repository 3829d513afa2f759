import { z } from 'zod';
import { CalltxError, schemas } from '@calltx/events';
import type { TwilioRecordingApi } from './recording-api.js';

/** The Recording resource fields the reconciler reads, as Twilio's list returns them. */
const ListedRecording = z.object({
  sid: schemas.recordingSid,
  call_sid: z.string().nullable(),
  /** in-progress, paused, stopped, processing, completed, absent, deleted (and failed with encryption). */
  status: z.string(),
  channels: z.number().int().nullable().optional(),
  /** Seconds, as a string; -1 until known. */
  duration: z.string().nullable().optional(),
  source: z.string().nullable().optional(),
  start_time: z.string().nullable().optional(),
  error_code: z.union([z.number(), z.string()]).nullable().optional(),
});
export type ListedRecording = z.infer<typeof ListedRecording>;

const RecordingsPage = z.object({
  recordings: z.array(ListedRecording),
  next_page_uri: z.string().nullable().optional(),
});

const PAGE_SIZE = 50;
/** A call has a handful of recordings at most; more pages than this means something is wrong. */
const MAX_PAGES = 20;

export class TwilioListError extends CalltxError {}

/** Every recording Twilio lists for a call, following `next_page_uri` page by page. */
export async function listCallRecordings(
  api: TwilioRecordingApi,
  callSid: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ListedRecording[]> {
  const found: ListedRecording[] = [];
  let url: URL | null = api.callRecordingsListUrl(callSid, PAGE_SIZE);
  for (let pages = 1; url; pages += 1) {
    if (pages > MAX_PAGES) {
      throw new TwilioListError(`the recordings list of ${callSid} runs past ${MAX_PAGES} pages`);
    }
    const page = await fetchPage(api, url, timeoutMs, signal);
    found.push(...page.recordings);
    const next = page.next_page_uri;
    url = next ? api.listPageUrl(next) : null;
    if (next && !url) throw new TwilioListError(`next_page_uri ${JSON.stringify(next)} leaves the list`);
  }
  return found;
}

async function fetchPage(
  api: TwilioRecordingApi,
  url: URL,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<z.infer<typeof RecordingsPage>> {
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Response;
  let body: unknown;
  try {
    res = await fetch(url, {
      headers: { authorization: api.authorization, accept: 'application/json' },
      redirect: 'error',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    body = res.ok ? await res.json() : await res.body?.cancel();
  } catch (cause) {
    throw new TwilioListError(`could not list recordings at ${url.host}`, { cause, retryable: true });
  }
  if (!res.ok) {
    throw new TwilioListError(`listing recordings at Twilio answered HTTP ${res.status}`, {
      retryable: res.status >= 500 || res.status === 429,
    });
  }
  const parsed = RecordingsPage.safeParse(body);
  if (!parsed.success) {
    throw new TwilioListError('the recordings list is not what Twilio documents', { cause: parsed.error });
  }
  return parsed.data;
}
