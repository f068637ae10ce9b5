import type { Provenance } from '../audit/provenance';
import type { ErrorCode } from '../errors';
import type { AclOutcome } from './acl';
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
}

export type Summary = SummaryEntry[];

export function summaryOf(key: string, result: PublishResult): SummaryEntry {
  const entry: SummaryEntry = { key, status: result.status };
  if (result.layerName !== undefined) entry.layerName = result.layerName;
  if (result.version !== undefined) entry.version = result.version;
  if (result.error !== undefined) entry.error = result.error;
  return entry;
}
