import type { AliasTarget } from '../fc/functions';

/**
 * One function's entry in the result's `rollout`:
 * `updated` it now uses the new version (it had `before`); `current` it already did;
 * `skipped` it does not use the layer and only a glob named it; `notAllowed` ROLLOUT_FUNCTIONS does
 * not hand it over; `missing` no such function; `refused` the change breaks a rule of FC's (five
 * layers); `conflict` someone changed it meanwhile, and it was left as they made it; `pending`
 * another delivery is changing it right now; `failed` FC would not take the change.
 */
export type FunctionRolloutStatus = 'updated' | 'current' | 'skipped' | 'notAllowed' | 'missing' | 'refused' | 'conflict' | 'pending' | 'failed';

export interface CanaryOutcome {
  alias: string;
  weight: number;
  /** The function version published with the new layer. */
  functionVersion?: string;
  /** What the alias served before, and now. */
  before?: AliasTarget;
  after?: AliasTarget;
  error?: string;
}

export interface FunctionRollout {
  functionName: string;
  /** Set with `REGIONS`: the region the function is in. */
  region?: string;
  status: FunctionRolloutStatus;
  /** The function's layer ARNs before and after. */
  before?: string[];
  after?: string[];
  reason?: string;
  canary?: CanaryOutcome;
}

/** `rollout` of a result. */
export interface RolloutOutcome {
  layerName: string;
  functions: FunctionRollout[];
  /** Why the rollout did not start (the API in use, no time left). */
  error?: string;
}
