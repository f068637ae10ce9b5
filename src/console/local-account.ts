import type { Credential } from '../emulator';

/** The one account the local OSS and FC serve. Not secret: they listen on loopback only. */
export const LOCAL_ACCOUNT_ID = '1000000000000001';
export const LOCAL_REGION = 'cn-hangzhou';
export const LOCAL_CREDENTIALS = {
  accessKeyId: 'LTAIlocalPublisherKey',
  accessKeySecret: 'local-publisher-secret',
} as const satisfies Credential;

export const DEFAULT_BUCKET = 'local-layers';
export const DEFAULT_OSS_PORT = 9000;
export const DEFAULT_DATA_DIR = '.local';
/** s.yaml's function timeout: the handler plans its retries against it. */
export const FUNCTION_TIMEOUT_SECONDS = 600;
/** s.yaml's `maxAsyncRetryAttempts`: Function Compute delivers an event whose invocation failed again, this many times. */
export const MAX_ASYNC_RETRY_ATTEMPTS = 3;
