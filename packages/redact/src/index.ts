export {
  REDACTION_KINDS,
  recognise,
  type Entity,
  type RecogniseOptions,
  type RedactionKind,
} from './recognise.js';
export {
  REDACTION_TAGS,
  parseRedactionKinds,
  redactPieces,
  redactText,
  type PieceEntity,
  type Redacted,
  type RedactedPiece,
} from './redact.js';
export { luhnValid } from './luhn.js';
