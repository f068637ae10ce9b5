import type { Provenance } from '../audit/provenance';
import type { ErrorCode } from '../errors';
import type { AclOutcome } from './acl';
import type { RolloutOutcome } from '../rollout/outcome';
import type { RetentionOutcome } from './retention';

/** `<stem>.result.json` (CONTRACT §6). */
export type ResultStatus = 'published' | 'unchanged' | 'waiting' | 'failed';

export interface SourceInfo {
  bucket: string;
  key: string;
  etag?: string;
  size?: number;
  crc64?: string;
}

export interface PublishResult {
  status: ResultStatus;
  layerName?: string;
  version?: number;
  arn?: string;
  source: SourceInfo;
  manifest?: { key: string; etag?: string; license?: string };
  layer?: Record<string, unknown>;
  error?: { code: ErrorCode; message: string; retryable: boolean };
  /** The manifest's `public` as PutLayerACL took it (or refused it). */
  acl?: AclOutcome;
  /** Added once older versions were dealt with, after the result was first written. */
  retention?: RetentionOutcome;
  /** Added once the functions the manifest names were moved to the version (docs/rollout.md). */
  rollout?: RolloutOutcome;
  /** With `REGIONS`: every region this upload goes to, the home region included (issue 13). */
  regions?: Record<string, RegionResult>;
  event: { name: string; time: string | undefined; requestId: string | undefined; key: string };
  provenance?: Provenance;
  requestId: string;
  startedAt: string;
  finishedAt: string;
}

/** What the handler resolves with: one entry per record, in order (CONTRACT §1). */
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

/** Where one region got: the home region's entry repeats the top-level fields. */
export interface RegionResult {
  status: 'published' | 'unchanged' | 'failed';
  home?: true;
  version?: number;
  arn?: string;
  /** FC's codeChecksum: equal to `source.crc64` in every region that holds the layer. */
  codeChecksum?: string;
  /** The verified copy FC built this region's version from (not for the home region). */
  staged?: { bucket: string; key: string; reused: boolean };
  acl?: AclOutcome;
  /** What retention did in this region, added once the result was written. */
  retention?: RetentionOutcome;
  error?: { code: ErrorCode; message: string; retryable: boolean };
}

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
