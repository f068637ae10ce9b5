import type { Provenance } from '../audit/provenance';
import type { PublishResult } from '../publish/result';

/**
 * A decision of the function, settled and its result written: what every follow-up (the index,
 * notices) works from. Immutable: a follow-up adds its own field to the result, never changes this.
 */
export interface Decision {
  readonly status: 'published' | 'unchanged' | 'failed';
  readonly layerName: string | undefined;
  /** The upload's ledger id (src/audit/ledger.ts); undefined for a failure found before the pair was known. */
  readonly uploadId: string | undefined;
  readonly resultKey: string;
  /** Each region's version, the home region's first (only the home region without REGIONS). */
  readonly regions: readonly DecidedRegion[];
  readonly manifest: DecidedManifest | undefined;
  readonly source: PublishResult['source'];
  readonly error: PublishResult['error'];
  readonly provenance: Provenance | undefined;
  /** The function invocation that made the decision, and when it was made. */
  readonly requestId: string;
  readonly decidedAt: string;
}

export interface DecidedRegion {
  region: string;
  home: boolean;
  status: 'published' | 'unchanged' | 'failed';
  version?: number | undefined;
  arn?: string | undefined;
  codeChecksum?: string | undefined;
}

/** The manifest's fields the follow-ups report or obey. */
export interface DecidedManifest {
  description?: string | undefined;
  compatibleRuntime: readonly string[];
  license?: string | undefined;
  /** Which configured notice targets hear about this layer; absent means all of them. */
  notify?: readonly string[] | undefined;
}

/** The decision a written result records; `homeRegion` names the region of its top-level version. */
export function decisionOf(
  result: PublishResult,
  fields: { resultKey: string; uploadId: string | undefined; manifest: DecidedManifest | undefined; homeRegion: string },
): Decision | undefined {
  const { status } = result;
  if (status === 'waiting') return undefined;
  return Object.freeze({
    status,
    layerName: result.layerName,
    uploadId: fields.uploadId,
    resultKey: fields.resultKey,
    regions: regionsOf(result, status, fields.homeRegion),
    manifest: fields.manifest,
    source: result.source,
    error: result.error,
    provenance: result.provenance,
    requestId: result.requestId,
    decidedAt: result.finishedAt,
  });
}

function regionsOf(result: PublishResult, status: Decision['status'], homeRegion: string): DecidedRegion[] {
  if (result.regions === undefined) {
    if (status === 'failed') return [];
    // FC checked its codeChecksum against the CRC-64 before the result said published (docs/contract.md §5 step 7).
    return [{ region: homeRegion, home: true, status, version: result.version, arn: result.arn, codeChecksum: result.source.crc64 }];
  }
  const entries = Object.entries(result.regions).map(([region, entry]) => ({
    region,
    home: entry.home === true,
    status: entry.status,
    version: entry.version,
    arn: entry.arn,
    codeChecksum: entry.codeChecksum ?? (entry.home ? result.source.crc64 : undefined),
  }));
  return [...entries.filter((entry) => entry.home), ...entries.filter((entry) => !entry.home)];
}
