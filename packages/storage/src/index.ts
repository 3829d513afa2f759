export { STORAGE_VARIABLES } from './variables.js';
export {
  createObjectStore,
  objectStoreConfig,
  type ObjectStore,
  type ObjectStoreConfig,
  type ObjectInfo,
  type ObjectListing,
  type PutOptions,
  type ServerSideEncryption,
} from './object-store.js';
export type { ObjectUpload, UploadResult, UploadSource } from './multipart-upload.js';
export { StorageError } from './storage-error.js';
