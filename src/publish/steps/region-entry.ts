import { PublisherError, TransientError } from '../../errors';
import type { StagedCopy } from '../../regions/copy';
import type { RegionResult } from '../result';
import type { UploadLedger } from '../../audit/ledger';
import { writeAuditRecord } from '../../audit/records';
import { now, retrying, sourceOf, type Flow } from './context';
import type { Decided } from './existing';

/** A region's entry in the result's `regions` map, from what was decided there. */
export function entryOf(decided: Decided, extra: { home?: true; staged?: StagedCopy | undefined; acl?: RegionResult['acl'] }): RegionResult {
  const { version } = decided;
  return {
    status: decided.status,
    ...(extra.home ? { home: true as const } : {}),
    version: version.version,
    ...(version.arn !== undefined ? { arn: version.arn } : {}),
    codeChecksum: version.codeChecksum,
    ...stagedOf(extra.staged),
    ...(extra.acl ? { acl: extra.acl } : {}),
  };
}

/** A region's entry when it failed; the message starts with `where` (the region), whoever raised the error. */
export function failedEntry(error: unknown, where: string | undefined, extra: { home?: true; staged?: StagedCopy | undefined }): RegionResult {
  const failure = error instanceof PublisherError ? error : new TransientError(error instanceof Error ? error.message : String(error), { cause: error });
  // Every message names its region, whoever raised it.
  const prefix = inRegion(where);
  const message = failure.message.startsWith(prefix) ? failure.message : `${prefix}${failure.message}`;
  return {
    status: 'failed',
    ...(extra.home ? { home: true as const } : {}),
    ...stagedOf(extra.staged),
    error: { code: failure.code, message, retryable: failure.retryable },
  };
}

function stagedOf(staged: StagedCopy | undefined): Pick<RegionResult, 'staged'> {
  return staged === undefined ? {} : { staged: { bucket: staged.bucket, key: staged.key, reused: staged.reused } };
}

/** "cn-shanghai: " before a message about another region; nothing for the home region. */
export function inRegion(region: string | undefined): string {
  return region === undefined ? '' : `${region}: `;
}

/** One audit record per region settled, naming it: the trail says where each version went. */
export async function auditRegion(flow: Flow, ledger: UploadLedger, region: string, entry: RegionResult): Promise<void> {
  const record = {
    region,
    uploadId: ledger.uploadId,
    ...entry,
    layerName: flow.facts.layerName,
    source: sourceOf(flow),
    event: { name: flow.input.eventName, key: flow.input.eventKey },
    requestId: flow.deps.requestId,
    finishedAt: now(flow).toISOString(),
  };
  await retrying(flow, 'audit.write', () => writeAuditRecord(flow.deps.store, flow.deps.auditPrefix, 'region', flow.deps.logger.redact(record))).catch(
    (error: unknown) => flow.log.warn('audit.write.failed', { error }),
  );
}
