import type { ErrorCode } from '../errors';
import type { PublishResult, ResultStatus } from '../result/document';

// The result document lives in src/result/document.ts; the steps take its types from here.
export type { AclOutcome, PublishResult, RegionResult, ResultStatus, RetentionOutcome, SourceInfo, Waiting } from '../result/document';

/** What the handler resolves with: one entry per record, in order (docs/contract.md §1). */
export type SummaryStatus = ResultStatus | 'ignored' | 'stale';

export interface SummaryEntry {
  key: string | null;
  status: SummaryStatus;
  layerName?: string;
  version?: number;
  error?: { code: ErrorCode; message: string; retryable: boolean };
  /** Why a record was ignored, for people reading logs. */
  reason?: string;
  /** With `REGIONS`: the regions this upload failed in (the home region's failure is `status`). */
  regionsFailed?: string[];
}

export type Summary = SummaryEntry[];

/** The regions whose entry is `failed`, in the map's order. */
export function failedRegions(result: Pick<PublishResult, 'regions'>): string[] {
  return Object.entries(result.regions ?? {})
    .filter(([, entry]) => entry.status === 'failed')
    .map(([region]) => region);
}

export function summaryOf(key: string, result: PublishResult): SummaryEntry {
  const entry: SummaryEntry = { key, status: result.status };
  if (result.layerName !== undefined) entry.layerName = result.layerName;
  if (result.version !== undefined) entry.version = result.version;
  if (result.error !== undefined) entry.error = result.error;
  const regionsFailed = failedRegions(result);
  if (regionsFailed.length > 0) entry.regionsFailed = regionsFailed;
  return entry;
}
