import { ConfigError } from './errors';
import type { Config, Credentials } from './config';

/** The part of Function Compute's `context` the publisher reads (docs/reference/alibaba-cloud.md §2). */
export interface FcContext {
  requestId?: string;
  region?: string;
  accountId?: string;
  credentials?: Partial<{ accessKeyId: string; accessKeySecret: string; securityToken: string }> | null;
  /** `timeout` in seconds; some runtimes and local hosts hand it over as a string. */
  function?: { name?: string; timeout?: number | string } | null;
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
  const timeoutSeconds = timeoutOf(context?.function?.timeout);
  return {
    requestId: context?.requestId || `local-${startedAt.getTime().toString(36)}`,
    region: context?.region || config.fallbackRegion,
    accountId: context?.accountId || config.fallbackAccountId,
    credentials,
    endsAt: new Date(startedAt.getTime() + timeoutSeconds * 1000),
  };
}

/**
 * The function's timeout in seconds. A string of digits counts as its number: taking it for absent
 * would have a 3 s function claim uploads for the default 60 s (docs/contract.md §7).
 */
function timeoutOf(value: unknown): number {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_TIMEOUT_SECONDS;
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
