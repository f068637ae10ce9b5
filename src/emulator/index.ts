export type { Credential } from './auth';
export { FaultInjector, type Fault } from './faults';
export { serve, type FetchHandler, type LoopbackServer, type ServeOptions } from './http';
export {
  createOssEmulator,
  type ObjectCreatedListener,
  type OssEmulator,
  type OssEmulatorOptions,
  type OssRequestRecord,
  type OssRequestTarget,
  type SeedOptions,
} from './oss';
export type { ObjectCreatedEventName, OssEventRecord } from './oss-events';
export {
  createMemoryBackend,
  STREAM_PIECE_BYTES,
  type ListedObject,
  type ObjectMeta,
  type OssBackend,
  type PartRecord,
  type StoredObject,
  type UploadRecord,
  type UploadStore,
  type WrittenBody,
} from './oss-storage';
export { SERVED_OPERATIONS, type ServedOperation } from './oss-operations';
export { createFolderBackend, type FolderBackend } from './oss-folder-backend';
export { RequestLog } from './request-log';
export { ServiceError } from './service';
export {
  createFcEmulator,
  type ErrorCasing,
  type FcAction,
  type FcEmulator,
  type FcEmulatorOptions,
  type FcRequestRecord,
  type FcRequestTarget,
  type SeedLayerVersion,
} from './fc';
export { verifyAcs3Signature } from './fc-acs3-signature';
export { LAYER_RUNTIMES, type Fc3LayerVersion, type LayerPage, type LayerStore, type LayerVersion, type StoredLayer } from './fc-layers';
export { jsonFileFunctionStore, jsonFileLayerStore } from './fc-layer-file';
export type { FunctionStore, SeedFunction, StoredFunction } from './fc-functions';
