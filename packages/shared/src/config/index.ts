export { VARIABLES, type VariableName, type VariableValue, type VariableSpec } from './variables.js';
export { loadConfig, type Config } from './load.js';
export { renderConfigurationDoc, SHARED_VARIABLES_TABLE, type ConfigurationTable } from './docs.js';
