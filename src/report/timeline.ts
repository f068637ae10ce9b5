import { type TrailEntry, statusLabel, uploadedBy } from './trail';
import type { Drift, VerifyReport } from './drift';

/** What a row of a layer's timeline says happened; anything else a record says is `other`. */
export type TimelineStatus = 'published' | 'unchanged' | 'failed' | 'deleted' | 'drift' | 'waiting' | 'stale' | 'other';

const KNOWN: readonly TimelineStatus[] = ['published', 'unchanged', 'failed', 'deleted', 'waiting', 'stale'];

export interface TimelineRow {
  when: string | undefined;
  version: number | undefined;
  status: TimelineStatus;
  /** The status as the record words it: `published, superseded`. */
  label: string;
  who: string | undefined;
  /** The uploader's IP address and when the upload happened. */
  sourceIp: string | undefined;
  uploadedAt: string | undefined;
  detail: string;
  /** Request ids that tie the row to logs: the function invocation and FC's CreateLayerVersion. */
  requestIds: string | undefined;
}

export interface LayerTimeline {
  /** Undefined for uploads whose manifest never said a valid name. */
  layerName: string | undefined;
  rows: TimelineRow[];
  /** What FC holds, when the report compared with it. */
  fcVersions: number[] | undefined;
  drift: number;
}

/** Each layer's rows, oldest first, with drift rows where verify found them; layers by name. */
export function buildTimelines(entries: readonly TrailEntry[], verify: VerifyReport | undefined): LayerTimeline[] {
  const byLayer = new Map<string | undefined, TimelineRow[]>();
  const rowsOf = (layerName: string | undefined): TimelineRow[] => {
    const rows = byLayer.get(layerName) ?? [];
    byLayer.set(layerName, rows);
    return rows;
  };
  for (const entry of entries) rowsOf(entry.layerName).push(rowOfEntry(entry));
  for (const drift of verify?.drift ?? []) rowsOf(drift.layerName).push(rowOfDrift(drift, verify?.checkedAt));
  const checked = new Map(verify?.layers.map((layer) => [layer.layerName, layer.fcVersions]) ?? []);
  return [...byLayer]
    .sort(([a], [b]) => (a === undefined ? 1 : b === undefined ? -1 : a.localeCompare(b)))
    .map(([layerName, rows]) => ({
      layerName,
      rows: rows.sort((a, b) => (a.when ?? '').localeCompare(b.when ?? '')),
      fcVersions: layerName === undefined ? undefined : checked.get(layerName),
      drift: rows.filter((row) => row.status === 'drift').length,
    }));
}

function rowOfEntry(entry: TrailEntry): TimelineRow {
  const status = entry.kind === 'stale' ? 'stale' : entry.kind === 'deleted' ? 'deleted' : (KNOWN.find((known) => known === entry.status) ?? 'other');
  const detail = entry.error
    ? `${entry.error.code}: ${entry.error.message}`
    : [entry.region ? `in ${entry.region}` : undefined, entry.description, entry.zipKey, entry.reason, entry.dryRun ? 'dry run: not deleted' : undefined]
        .filter(Boolean)
        .join(' · ');
  const { functionRequestId, fcRequestId } = entry.provenance;
  const requestIds = [functionRequestId ?? entry.requestId, fcRequestId ? `FC ${fcRequestId}` : undefined].filter(Boolean).join(' · ');
  return {
    when: entry.when,
    version: entry.version,
    status,
    label: statusLabel(entry),
    who: uploadedBy(entry.provenance),
    sourceIp: entry.provenance.zip?.sourceIp,
    uploadedAt: entry.provenance.zip?.eventTime,
    detail,
    requestIds: requestIds || undefined,
  };
}

const DRIFT_LABELS: Record<Drift['kind'], string> = {
  unrecorded: 'drift: made outside the bucket',
  checksum: 'drift: checksum differs',
  missing: 'drift: gone from FC',
};

/** A version made outside the bucket is dated by FC; other drift by when it was found. */
function rowOfDrift(drift: Drift, checkedAt: string | undefined): TimelineRow {
  return {
    when: drift.kind === 'unrecorded' && drift.createTime ? drift.createTime : checkedAt,
    version: drift.version,
    status: 'drift',
    label: DRIFT_LABELS[drift.kind],
    who: undefined,
    sourceIp: undefined,
    uploadedAt: undefined,
    detail: drift.message,
    requestIds: undefined,
  };
}
