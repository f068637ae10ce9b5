/** The audit trail as the publisher leaves it in the bucket, read leniently into one shape. */

import type { Provenance as WrittenProvenance, Uploader } from '../audit/provenance';

export type { Uploader };

/** Provenance as read back: any field may be missing from what an older publisher (or anyone) wrote. */
export type Provenance = Partial<WrittenProvenance>;

/** One audit record or result, read leniently: anyone who may write to the bucket may write these. */
export interface TrailEntry {
  /** Where it was read: an audit record, or a result no audit record repeats. */
  from: 'audit' | 'result';
  key: string;
  /** `result`, `stale`, `superseded`, or a kind a newer publisher writes (such as `deleted`). */
  kind: string;
  status: string;
  layerName?: string;
  version?: number;
  /** When the publisher finished with the event. */
  when?: string;
  zipKey?: string;
  /** The zip's CRC-64 as the publisher read it. */
  crc64?: string;
  /** FC's codeChecksum as CreateLayerVersion answered it. */
  codeChecksum?: string;
  description?: string;
  error?: { code: string; message: string };
  requestId?: string;
  /** Why a version was deleted or kept, as a retention record says. */
  reason?: string;
  /** A retention record that says what would be deleted, not what was. */
  dryRun?: boolean;
  /** Another region than the home one: its versions are that region's. */
  region?: string;
  /** An `uploader` record: the key of the decision's record it completes. */
  decision?: string;
  provenance: Provenance;
}

/** A result and the audit record written with it say the same about the same invocation. */
export function identityOf(entry: TrailEntry): string {
  return JSON.stringify([entry.requestId, entry.when, entry.status, entry.zipKey]);
}

export function parseTrailEntry(from: TrailEntry['from'], key: string, body: unknown): TrailEntry {
  const record = objectOf(body) ?? {};
  const source = objectOf(record.source);
  const layer = objectOf(record.layer);
  const error = objectOf(record.error);
  const event = objectOf(record.event);
  const kind = stringOf(record.kind) ?? (from === 'result' ? 'result' : 'unknown');
  const status = stringOf(record.status) ?? (body === undefined ? 'unreadable' : kind);
  const entry: TrailEntry = { from, key, kind, status, provenance: kind === 'uploader' ? appendedUploader(record) : provenanceOf(record.provenance) };
  const decision = stringOf(record.decision);
  if (decision !== undefined) entry.decision = decision;
  const layerName = stringOf(record.layerName) ?? stringOf(layer?.layerName);
  if (layerName !== undefined) entry.layerName = layerName;
  const version = versionOf(record.version) ?? versionOf(layer?.version);
  if (version !== undefined) entry.version = version;
  const when = stringOf(record.finishedAt) ?? stringOf(record.time) ?? stringOf(event?.time);
  if (when !== undefined) entry.when = when;
  const zipKey = stringOf(source?.key);
  if (zipKey !== undefined) entry.zipKey = zipKey;
  const crc64 = checksumOf(source?.crc64);
  if (crc64 !== undefined) entry.crc64 = crc64;
  const codeChecksum = checksumOf(layer?.codeChecksum);
  if (codeChecksum !== undefined) entry.codeChecksum = codeChecksum;
  const description = stringOf(layer?.description) ?? stringOf(record.description);
  if (description !== undefined) entry.description = description;
  if (error) entry.error = { code: stringOf(error.code) ?? 'unknown', message: stringOf(error.message) ?? '' };
  const requestId = stringOf(record.requestId);
  if (requestId !== undefined) entry.requestId = requestId;
  const reason = stringOf(record.reason);
  if (reason !== undefined) entry.reason = reason;
  if (record.dryRun === true) entry.dryRun = true;
  const region = stringOf(record.region);
  if (region !== undefined) entry.region = region;
  return entry;
}

/** An `uploader` record names one object's uploader, learnt after its decision's record was written. */
function appendedUploader(record: Record<string, unknown>): Provenance {
  const role = record.role;
  const uploader = uploaderOf(record.uploader);
  return (role === 'zip' || role === 'manifest') && uploader !== undefined ? { [role]: uploader } : {};
}

/**
 * One row per decision: each `uploader` record is folded into the record of the decision it names
 * (the other object's event came after the decision was recorded), and is no row of its own.
 */
export function foldUploaders(entries: readonly TrailEntry[]): TrailEntry[] {
  const byKey = new Map(entries.filter((entry) => entry.kind !== 'uploader').map((entry) => [entry.key, { ...entry, provenance: { ...entry.provenance } }]));
  for (const appended of entries) {
    const decision = appended.kind === 'uploader' && appended.decision !== undefined ? byKey.get(appended.decision) : undefined;
    if (decision === undefined) continue;
    decision.provenance.zip ??= appended.provenance.zip;
    decision.provenance.manifest ??= appended.provenance.manifest;
  }
  return [...byKey.values()];
}

function provenanceOf(value: unknown): Provenance {
  const record = objectOf(value);
  if (record === undefined) return {};
  const provenance: Provenance = {};
  const zip = uploaderOf(record.zip);
  if (zip) provenance.zip = zip;
  const manifest = uploaderOf(record.manifest);
  if (manifest) provenance.manifest = manifest;
  const functionRequestId = stringOf(record.functionRequestId);
  if (functionRequestId !== undefined) provenance.functionRequestId = functionRequestId;
  const fcRequestId = stringOf(record.fcRequestId);
  if (fcRequestId !== undefined) provenance.fcRequestId = fcRequestId;
  return provenance;
}

function uploaderOf(value: unknown): Uploader | undefined {
  const record = objectOf(value);
  if (record === undefined) return undefined;
  const uploader: Uploader = {};
  for (const field of ['principalId', 'sourceIp', 'ossRequestId', 'eventTime'] as const) {
    const text = stringOf(record[field]);
    if (text !== undefined) uploader[field] = text;
  }
  return Object.keys(uploader).length > 0 ? uploader : undefined;
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function versionOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Checksums are decimal strings; a number in JSON has lost precision and is kept only as text. */
function checksumOf(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return stringOf(value);
}

/** Who uploaded the zip (and the manifest, when someone else did), for people. */
export function uploadedBy(provenance: Provenance): string | undefined {
  const zip = provenance.zip?.principalId;
  const manifest = provenance.manifest?.principalId;
  if (manifest !== undefined && manifest !== zip) return `${zip ?? '-'} (manifest: ${manifest})`;
  return zip;
}

/** `published`, or what else the record is: `published, superseded`; `stale`. */
export function statusLabel(entry: TrailEntry): string {
  return entry.kind === 'result' || entry.kind === entry.status || entry.kind === 'unknown' ? entry.status : `${entry.status}, ${entry.kind}`;
}
