/**
 * Postgres's built-in text search configurations (PostgreSQL 15 and PGlite alike) by the ISO 639-1 code Whisper
 * names the language with. An utterance is indexed in its language's configuration, so its words are stemmed
 * and its stop words dropped as that language wants; 'simple' (lowercased words, nothing else) for the rest.
 */
const CONFIG_BY_LANGUAGE: Readonly<Record<string, string>> = {
  ar: 'arabic',
  hy: 'armenian',
  eu: 'basque',
  ca: 'catalan',
  da: 'danish',
  nl: 'dutch',
  en: 'english',
  fi: 'finnish',
  fr: 'french',
  de: 'german',
  el: 'greek',
  hi: 'hindi',
  hu: 'hungarian',
  id: 'indonesian',
  ga: 'irish',
  it: 'italian',
  lt: 'lithuanian',
  ne: 'nepali',
  no: 'norwegian',
  nn: 'norwegian',
  pt: 'portuguese',
  ro: 'romanian',
  ru: 'russian',
  sr: 'serbian',
  es: 'spanish',
  sv: 'swedish',
  ta: 'tamil',
  tr: 'turkish',
  yi: 'yiddish',
};

export const searchConfigFor = (language: string | undefined): string =>
  (language && CONFIG_BY_LANGUAGE[language]) || 'simple';

/**
 * Every configuration an utterance may be indexed in: a search parses its query in each, and the OR of them
 * finds, through the GIN index, every utterance that may match in its own configuration.
 */
export const SEARCH_CONFIGS: readonly string[] = ['simple', ...new Set(Object.values(CONFIG_BY_LANGUAGE))];
