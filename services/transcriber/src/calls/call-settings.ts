import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@calltx/runtime';
import type { DecodeSettings, Recognizer } from '../engine/recognizer.js';
import type { TranscriberMetrics } from '../metrics.js';
import type { CallSettingsStore } from './settings-store.js';

/** Calls whose resolved settings are kept in memory (a few hundred bytes each); the oldest go first. */
const CACHED_CALLS = 10_000;
/** How often a waiting lookup reads the table again. */
const POLL_MS = 100;

/**
 * Each call's decode settings: its call.started language and hints as the model can serve them, else the
 * defaults. The event normally lands long before the call's first speech; when it has not (the calls consumer is
 * behind), the first lookup of the call waits up to `waitMs` for it, and later ones of the same call do not wait
 * again: until it lands, the call is transcribed with the defaults.
 */
export class CallSettings {
  private readonly resolved = new Map<string, DecodeSettings>();
  private readonly waited = new Set<string>();

  constructor(
    private readonly deps: {
      store: CallSettingsStore;
      recognizer: Recognizer;
      waitMs: number;
      logger: Logger;
      metrics: TranscriberMetrics;
    },
  ) {}

  /** The call was erased: its settings (hints may be personal data) leave this cache. */
  forget(callSid: string): void {
    this.resolved.delete(callSid);
    this.waited.delete(callSid);
  }

  async forCall(callSid: string): Promise<DecodeSettings> {
    const cached = this.resolved.get(callSid);
    if (cached) return cached;
    const { store, recognizer, logger, metrics } = this.deps;
    let call = await store.find(callSid);
    const firstMiss = !call && !this.waited.has(callSid);
    if (firstMiss) {
      bounded(this.waited).add(callSid);
      for (const deadline = Date.now() + this.deps.waitMs; !call && Date.now() < deadline;) {
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
        call = await store.find(callSid);
      }
    }
    if (!call) {
      metrics.callSettingsDefaulted.inc({ reason: 'start-unseen' });
      if (firstMiss)
        logger.warn(
          { callSid, waitedMs: this.deps.waitMs },
          'call.started not seen: transcribing with the default language and hints until it is',
        );
      return recognizer.defaults;
    }
    const { settings, unusable } = recognizer.settingsFor(call);
    for (const { field, reason } of unusable) {
      metrics.callSettingsDefaulted.inc({ reason: `${field}-unusable` });
      logger.warn({ callSid, field, reason }, 'call setting unusable with this model: using the default');
    }
    bounded(this.resolved).set(callSid, settings);
    this.waited.delete(callSid);
    return settings;
  }
}

/** Makes room for one more entry by dropping the oldest (Maps and Sets keep insertion order). */
function bounded<T extends Map<string, unknown> | Set<string>>(entries: T): T {
  if (entries.size >= CACHED_CALLS) entries.delete(entries.keys().next().value!);
  return entries;
}
