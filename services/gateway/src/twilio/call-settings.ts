import { HINTS_MAX_LENGTH, WHISPER_LANGUAGES } from '@calltx/events';

/** A call's transcription settings, as the browser passes them with `Device.connect({ params })`. */
export interface CallSettings {
  language?: string;
  hints?: string;
}

export interface RefusedSetting {
  field: keyof CallSettings;
  reason: string;
}

/** Control characters other than tab and line breaks: nothing a person types as a hint. */
const CONTROL = /[^\P{Cc}\t\n\r]/u;
/** Whisper's special tokens (<|en|>, <|endoftext|>, <|0.00|>): a prompt must not spell them. */
const SPECIAL_TOKEN = /<\|[^|]*\|>/;

function languageProblem(value: string): string | undefined {
  return Object.hasOwn(WHISPER_LANGUAGES, value) ? undefined : 'not a Whisper language code such as en or de';
}

function hintsProblem(value: string): string | undefined {
  if (value.length > HINTS_MAX_LENGTH) return `longer than ${HINTS_MAX_LENGTH} characters`;
  if (CONTROL.test(value)) return 'contains control characters';
  if (SPECIAL_TOKEN.test(value)) return 'spells a Whisper special token such as <|en|>';
  return undefined;
}

/**
 * Reads the optional `language` and `hints` of the voice webhook's form. Blank values are left out; a value that
 * is bad is left out too and named in `refused`, so the call goes on with the transcriber's defaults: a bad
 * setting must never fail the call. `language` is matched without regard to case.
 */
export function readCallSettings(form: Record<string, unknown>): {
  settings: CallSettings;
  refused: RefusedSetting[];
} {
  const settings: CallSettings = {};
  const refused: RefusedSetting[] = [];
  const read = (field: keyof CallSettings, problem: (value: string) => string | undefined) => {
    const raw = form[field];
    if (raw === undefined) return;
    if (typeof raw !== 'string') return refused.push({ field, reason: 'given more than once' });
    const value = field === 'language' ? raw.trim().toLowerCase() : raw.trim();
    if (value === '') return;
    const reason = problem(value);
    if (reason) refused.push({ field, reason });
    else settings[field] = value;
  };
  read('language', languageProblem);
  read('hints', hintsProblem);
  return { settings, refused };
}
