export { ConfigError } from './config-error.js';
export {
  variable,
  pickVariables,
  httpUrl,
  absolutePath,
  positiveInt,
  booleanFlag,
  speakerMap,
  type VariableSpec,
  type VariableTable,
  type Config,
} from './variables.js';
export { loadConfig, asRead } from './load.js';
export { CALLER_NUMBER_VARIABLES } from './caller-numbers.js';
export { AUDIO_REDACTION_VARIABLES } from './audio-redaction.js';
