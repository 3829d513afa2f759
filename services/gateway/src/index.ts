export { createGateway, type Gateway, type GatewayDeps, MAX_WS_MESSAGE_BYTES } from './app.js';
export { loadGatewayConfig, GATEWAY_VARIABLES, type GatewayConfig } from './config.js';
export { PATHS, dialTwiml } from './twilio/twiml.js';
