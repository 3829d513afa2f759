export { VARIABLES, type VariableName, type VariableValue, type VariableSpec } from './variables.js';
export { loadConfig, type Config } from './load.js';
export { renderConfigurationDoc } from './docs.js';
