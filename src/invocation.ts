import { ConfigError } from './errors';
import type { Config, Credentials } from './config';

/** The part of Function Compute's `context` the publisher reads (alibaba-cloud.md §2). */
export interface FcContext {
  requestId?: string;
  region?: string;
  accountId?: string;
  credentials?: Partial<{ accessKeyId: string; accessKeySecret: string; securityToken: string }> | null;
  function?: { name?: string; timeout?: number } | null;
}

export interface Invocation {
  requestId: string;
  region: string | undefined;
  accountId: string | undefined;
  credentials: Credentials | undefined;
  /** When Function Compute ends this invocation, as far as we know. */
  endsAt: Date;
}

/** Used when the context does not say (local runs, the CLI): FC's default function timeout. */
const DEFAULT_TIMEOUT_SECONDS = 60;

export function describeInvocation(context: FcContext | undefined, config: Config, startedAt: Date): Invocation {
  const fromContext = context?.credentials;
  const credentials =
    fromContext?.accessKeyId && fromContext.accessKeySecret
      ? {
          accessKeyId: fromContext.accessKeyId,
          accessKeySecret: fromContext.accessKeySecret,
          securityToken: fromContext.securityToken || undefined,
        }
      : config.fallbackCredentials;
  const timeoutSeconds =
    typeof context?.function?.timeout === 'number' && context.function.timeout > 0
      ? context.function.timeout
      : DEFAULT_TIMEOUT_SECONDS;
  return {
    requestId: context?.requestId || `local-${startedAt.getTime().toString(36)}`,
    region: context?.region || config.fallbackRegion,
    accountId: context?.accountId || config.fallbackAccountId,
    credentials,
    endsAt: new Date(startedAt.getTime() + timeoutSeconds * 1000),
  };
}

export function requireCredentials(invocation: Invocation): Credentials {
  if (invocation.credentials) return invocation.credentials;
  throw new ConfigError(
    'no credentials: context.credentials is empty (give the function a role in s.yaml) and ' +
      'ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set',
  );
}

export function requireRegion(invocation: Invocation, recordRegion: string | undefined): string {
  const region = invocation.region ?? recordRegion;
  if (region) return region;
  throw new ConfigError('no region: context.region is empty and FC_REGION is not set');
}

export function requireAccountId(invocation: Invocation): string {
  if (invocation.accountId) return invocation.accountId;
  throw new ConfigError('no account id: context.accountId is empty and FC_ACCOUNT_ID is not set');
}
