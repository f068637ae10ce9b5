import * as z from 'zod/mini';
import { indexLogFolder, layerIndexKey, listingKey, markerName, uploadFolder } from '../audit/layout';
import { readMarker } from '../audit/marker';
import type { Decision, DecidedRegion } from '../follow-ups/decision';
import type { Logger } from '../log/logger';
import { advance, type MonotoneDocument, type MonotoneIo } from './monotone';
import { indexOutcomeSchema, type IndexOutcome } from './outcome';

import {
  LATEST_SCHEMA,
  LISTING_SCHEMA,
  type LatestEntry,
  type LayerIndex,
  type Listing,
  type LogEntry,
  layerIndexSchema,
  listingSchema,
  logEntrySchema,
} from './schema';

export interface IndexDeps extends MonotoneIo {
  auditPrefix: string;
  indexPrefix: string;
  log: Logger;
  /** Whether there is time left for the index; the result was already written. */
  hasTime: () => boolean;
}

/** The index's outcome is a few hundred bytes; a bigger object at its key was not written by the publisher. */
const MAX_OUTCOME_BYTES = 64 * 1024;

/**
 * Brings the latest-version index up to this decision: the layer's document and the listing name,
 * per region, the highest version any decision reached, never a lower one. Runs after the result is
 * written, never fails the publish (a failure is in the outcome), and is done once per upload: its
 * outcome is a marker in the upload's ledger, which a redelivery repeats instead of writing again.
 */
export async function updateIndex(decision: Decision, deps: IndexDeps): Promise<IndexOutcome | undefined> {
  const entry = logEntryOf(decision);
  if (entry === undefined || decision.layerName === undefined) return undefined;
  const outcome: IndexOutcome = {
    key: layerIndexKey(deps.indexPrefix, decision.layerName),
    listing: listingKey(deps.indexPrefix),
    status: 'current',
    versions: Object.fromEntries(Object.entries(entry.regions).map(([region, latest]) => [region, latest.version])),
  };
  const marker = decision.uploadId === undefined ? undefined : uploadFolder(deps.auditPrefix, decision.uploadId) + markerName.index();
  try {
    const recorded = marker === undefined ? undefined : await recordedOutcome(deps, marker);
    if (recorded !== undefined) return recorded;
    if (!deps.hasTime()) throw new Error('skipped: too little of the invocation\u2019s time left');
    const layer = await advance(layerDocument(deps, decision.layerName), entry, deps);
    const listing = await advance(listingDocument(deps), entry, deps);
    outcome.status = layer === 'written' || listing === 'written' ? 'written' : 'current';
    if (marker !== undefined) {
      await deps.retrying('index.marker', () => deps.store.put(marker, JSON.stringify(outcome), { contentType: 'application/json', forbidOverwrite: true }));
    }
    deps.log.info('index.done', { ...outcome });
  } catch (error) {
    outcome.status = 'failed';
    outcome.error = deps.log.redact(error instanceof Error ? error.message : String(error));
    deps.log.warn('index.failed', { key: outcome.key, error });
  }
  return outcome;
}

/** What this decision says is newest, per region where it names a version; undefined when it names none. */
export function logEntryOf(decision: Decision): LogEntry | undefined {
  if (decision.status === 'failed' || decision.layerName === undefined) return undefined;
  const regions: Record<string, LatestEntry> = {};
  for (const region of decision.regions) {
    const latest = latestOf(decision, region);
    if (latest !== undefined) regions[region.region] = latest;
  }
  return Object.keys(regions).length === 0 ? undefined : { layerName: decision.layerName, regions };
}

function latestOf(decision: Decision, region: DecidedRegion): LatestEntry | undefined {
  if (region.status === 'failed' || region.version === undefined || region.arn === undefined) return undefined;
  const { manifest, provenance, source } = decision;
  const by = (uploader: { principalId?: string | undefined; sourceIp?: string | undefined } | undefined) =>
    uploader === undefined
      ? undefined
      : { ...(uploader.principalId ? { principalId: uploader.principalId } : {}), ...(uploader.sourceIp ? { sourceIp: uploader.sourceIp } : {}) };
  const zip = by(provenance?.zip);
  const manifestBy = by(provenance?.manifest);
  return {
    version: region.version,
    arn: region.arn,
    ...(region.codeChecksum === undefined ? {} : { codeChecksum: region.codeChecksum }),
    compatibleRuntime: [...(manifest?.compatibleRuntime ?? [])],
    ...(manifest?.description === undefined ? {} : { description: manifest.description }),
    ...(manifest?.license === undefined ? {} : { license: manifest.license }),
    publishedAt: decision.decidedAt,
    publishedBy: { ...(zip ? { zip } : {}), ...(manifestBy ? { manifest: manifestBy } : {}) },
    source: { bucket: source.bucket, key: source.key, ...(source.crc64 === undefined ? {} : { crc64: source.crc64 }) },
    resultKey: decision.resultKey,
  };
}

/** Per region, the entry with the higher version: an older decision arriving late changes nothing. */
function newer<T extends { version: number }>(current: Record<string, T>, incoming: Record<string, T>): Record<string, T> {
  const merged = { ...current };
  for (const [region, entry] of Object.entries(incoming)) {
    const held = merged[region];
    if (held === undefined || entry.version > held.version) merged[region] = entry;
  }
  return merged;
}

function holds(current: Record<string, { version: number }> | undefined, incoming: Record<string, { version: number }>): boolean {
  return Object.entries(incoming).every(([region, entry]) => (current?.[region]?.version ?? 0) >= entry.version);
}

function layerDocument(deps: IndexDeps, layerName: string): MonotoneDocument<LayerIndex, LogEntry> {
  return {
    key: layerIndexKey(deps.indexPrefix, layerName),
    logPrefix: indexLogFolder(deps.auditPrefix, layerName),
    // A document (or a log entry) for another layer at this key was not written by the publisher: rebuilt (skipped).
    document: layerIndexSchema.check(z.refine((document) => document.layerName === layerName)),
    entry: logEntrySchema.check(z.refine((entry) => entry.layerName === layerName)),
    empty: () => ({ schema: LATEST_SCHEMA, layerName, regions: {}, seq: 0, updatedAt: '' }),
    merge: (document, entry) => ({ ...document, regions: newer(document.regions, entry.regions) }),
    covers: (document, entry) => holds(document.regions, entry.regions),
  };
}

function listingDocument(deps: IndexDeps): MonotoneDocument<Listing, LogEntry> {
  return {
    key: listingKey(deps.indexPrefix),
    logPrefix: indexLogFolder(deps.auditPrefix),
    document: listingSchema,
    entry: logEntrySchema,
    empty: () => ({ schema: LISTING_SCHEMA, layers: {}, seq: 0, updatedAt: '' }),
    merge: (document, entry) => {
      const listed = Object.fromEntries(
        Object.entries(entry.regions).map(([region, latest]) => [region, { version: latest.version, arn: latest.arn, publishedAt: latest.publishedAt }]),
      );
      const regions = newer(document.layers[entry.layerName]?.regions ?? {}, listed);
      return { ...document, layers: { ...document.layers, [entry.layerName]: { key: layerIndexKey(deps.indexPrefix, entry.layerName), regions } } };
    },
    covers: (document, entry) => holds(document.layers[entry.layerName]?.regions, entry.regions),
  };
}

/**
 * The index's outcome this upload recorded. One that cannot be read counts as absent: the index is
 * brought up to this decision again, which moves nothing backwards and writes nothing it holds.
 */
async function recordedOutcome(deps: IndexDeps, marker: string): Promise<IndexOutcome | undefined> {
  return (await deps.retrying('index.marker', () => readMarker(deps.store, marker, indexOutcomeSchema, MAX_OUTCOME_BYTES)))?.value;
}
