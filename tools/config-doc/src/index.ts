export { renderConfigurationDoc } from './render.js';
export { SERVICE_VARIABLES } from './services.js';
