import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Where Linux says how much CPU time the process's cgroup may use per period: v2, then v1. */
const QUOTA_FILES = {
  v2: '/sys/fs/cgroup/cpu.max',
  v1Quota: '/sys/fs/cgroup/cpu/cpu.cfs_quota_us',
  v1Period: '/sys/fs/cgroup/cpu/cpu.cfs_period_us',
} as const;

type ReadText = (path: string) => string | undefined;

/**
 * The whole cores the process may keep busy at once. `os.availableParallelism()` counts the CPUs it may
 * run on, but a container may be held to less CPU time than that: Function Compute's `cpu` setting, a
 * cgroup quota. At least 1.
 */
export function availableCores(read: ReadText = readText): number {
  const quota = quotaCores(read);
  return Math.max(1, Math.min(availableParallelism(), quota ?? Number.POSITIVE_INFINITY));
}

/** The cgroup's quota in whole cores (1.5 is 1), or undefined where there is none. */
function quotaCores(read: ReadText): number | undefined {
  const v2 = read(QUOTA_FILES.v2);
  // cgroup v2: "<quota> <period>", or "max <period>" without a quota.
  if (v2 !== undefined) return cores(...(v2.trim().split(/\s+/) as [string, string]));
  const v1Quota = read(QUOTA_FILES.v1Quota);
  const v1Period = read(QUOTA_FILES.v1Period);
  // cgroup v1: a quota of -1 is none.
  return v1Quota !== undefined && v1Period !== undefined ? cores(v1Quota.trim(), v1Period.trim()) : undefined;
}

function cores(quota: string, period: string): number | undefined {
  const share = Number(quota) / Number(period);
  return Number.isFinite(share) && share > 0 ? Math.floor(share) : undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
