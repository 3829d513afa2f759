export { startServiceStack, type ServiceStack, type ServiceStackOptions } from './service-stack.js';
