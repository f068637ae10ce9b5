import { recordsFolder } from '../audit/layout';
import type OSS from 'ali-oss';
import { loadConfig } from '../config';
import { RESULT_SUFFIX } from '../keys';
import { type PublishResult, type RegionResult, failedRegions } from '../publish/result';
import { type TableOptions, cut, formatBytes, formatTable } from '../console/format';
import { type Waiting, waitingOf, waitingTable } from '../console/waiting';
import { ossFailure } from './failures';
import { readResult } from './publish';

export type RegionOutcomes = Record<string, RegionResult>;

export interface ResultRow {
  kind: 'result' | 'audit';
  key: string;
  layerName: string | undefined;
  version: number | undefined;
  status: string;
  size: number | undefined;
  crc64: string | undefined;
  when: string | undefined;
  error: string | undefined;
  /** The result's map as written: `--json` passes it through; absent without REGIONS. */
  regions?: RegionOutcomes;
  /** With REGIONS: the region a row is about (a result's, its home region). */
  region?: string;
  /** A `waiting` result's account of what it waits for. */
  waiting?: Waiting;
}

/** A result or audit record as read: the audit records of other regions (kind `region`) name theirs. */
type StoredRecord = PublishResult & { region?: string };

/**
 * The `<stem>.result.json` objects under the prefix, and the newest audit records about keys under
 * it: each result says where a layer stands now, the audit records how it got there.
 */
export async function listResults(client: OSS, prefix: string, auditLimit: number): Promise<ResultRow[]> {
  const auditPrefix = recordsFolder(loadConfig(process.env).auditPrefix);
  const resultKeys = (await listKeys(client, prefix)).filter((key) => key.endsWith(RESULT_SUFFIX) && !key.startsWith(auditPrefix));
  const auditKeys = (await listKeys(client, auditPrefix)).sort().reverse().slice(0, auditLimit);
  const rows: ResultRow[] = [];
  for (const key of resultKeys) {
    const result = await readResult(client, key);
    if (result) rows.push(rowOf('result', key, result));
  }
  for (const key of auditKeys) {
    const record: StoredRecord | undefined = await readResult(client, key);
    if (record?.source?.key?.startsWith(prefix)) rows.push(rowOf('audit', key, record));
  }
  return rows;
}

function rowOf(kind: ResultRow['kind'], key: string, result: StoredRecord): ResultRow {
  const { regions } = result;
  const region = result.region ?? Object.entries(regions ?? {}).find(([, entry]) => entry.home)?.[0];
  const waiting = kind === 'result' && result.status === 'waiting' ? waitingOf(result) : undefined;
  return {
    ...(regions === undefined ? {} : { regions }),
    ...(region === undefined ? {} : { region }),
    ...(waiting === undefined ? {} : { waiting }),
    kind,
    key,
    layerName: result.layerName,
    version: result.version,
    status: result.status,
    size: result.source?.size,
    crc64: result.source?.crc64,
    when: result.finishedAt,
    error: result.error ? `${result.error.code}: ${result.error.message}` : undefined,
  };
}

/** Every key under `prefix` (after `startAfter`, when given), page by page. */
export async function listKeys(client: OSS, prefix: string, startAfter?: string): Promise<string[]> {
  const keys: string[] = [];
  let marker = startAfter;
  do {
    let page: OSS.ListObjectResult;
    try {
      // No empty prefix=: ali-oss V4 signs it as `prefix=`, OSS's own SDKs (and so OSS) as `prefix`.
      page = await client.list({ ...(prefix ? { prefix } : {}), 'max-keys': 1000, ...(marker ? { marker } : {}) }, {});
    } catch (error) {
      throw ossFailure(client, `listing ${prefix || 'the bucket'}`, error);
    }
    keys.push(...(page.objects ?? []).map((object) => object.name));
    marker = page.isTruncated ? page.nextMarker : undefined;
  } while (marker);
  return keys;
}

const dash = (value: unknown): string => (value === undefined ? '-' : String(value));

/** The error column: the code and the start of the message; --json and --wide keep the whole message. */
const ERROR_START = 60;

export function resultsTable(rows: readonly ResultRow[], now: Date, options: TableOptions = {}): string {
  if (rows.length === 0) return 'No results yet.';
  // Only a publisher with REGIONS writes rows about a region: without it the table is as it was.
  const byRegion = rows.some((row) => row.region !== undefined);
  const error = (r: ResultRow): string => (r.error === undefined ? '-' : options.width === undefined ? r.error : cut(r.error, ERROR_START));
  const cells = (r: ResultRow): string[] => [
    r.kind,
    dash(r.layerName),
    ...(byRegion ? [dash(r.region)] : []),
    dash(r.version),
    r.status,
    r.size === undefined ? '-' : formatBytes(r.size),
    dash(r.crc64),
    dash(r.when),
    r.key,
    error(r),
  ];
  const header = ['kind', 'layer', ...(byRegion ? ['region'] : []), 'version', 'status', 'size', 'crc64', 'when', 'key', 'error'];
  const sections = [formatTable(header, rows.map(cells), options)];
  const waiting = rows.filter((row) => row.kind === 'result' && row.status === 'waiting');
  if (waiting.length > 0) {
    sections.push(
      `Waiting for the other half:\n${waitingTable(
        waiting.map((row) => ({ result: row.key, waiting: row.waiting })),
        now,
        options,
      )}`,
    );
  }
  const withRegions = rows.filter((row): row is ResultRow & { regions: RegionOutcomes } => row.kind === 'result' && row.regions !== undefined);
  if (withRegions.length > 0)
    sections.push(
      regionsTable(
        withRegions.map((row) => ({ label: row.layerName ?? row.key, regions: row.regions })),
        options,
      ),
    );
  return sections.join('\n\n');
}

/**
 * Every region of each result, home first: one group of rows per layer, its name on the first. The
 * error comes last: its message is long, and the columns before it stay aligned.
 */
export function regionsTable(groups: readonly { label: string; regions: RegionOutcomes }[], options: TableOptions = {}): string {
  const rows = groups.flatMap(({ label, regions }) =>
    homeFirst(regions).map(([region, outcome], index) => [
      index === 0 ? label : '',
      outcome.home ? `${region} (home)` : region,
      outcome.status,
      dash(outcome.version),
      dash(outcome.arn),
      outcome.error === undefined ? '' : `${outcome.error.code}: ${outcome.error.message}${outcome.error.retryable ? ' (retryable)' : ''}`,
    ]),
  );
  return `Regions:\n${formatTable(['layer', 'region', 'status', 'version', 'arn', 'error'], rows, options)}`;
}

function homeFirst(regions: RegionOutcomes): [string, RegionResult][] {
  const entries = Object.entries(regions);
  return [...entries.filter(([, outcome]) => outcome.home), ...entries.filter(([, outcome]) => !outcome.home)];
}

/** `results` exits 1 when a layer's result failed, or any of its regions did. */
export function anyResultFailed(rows: readonly ResultRow[]): boolean {
  return rows.some((row) => row.kind === 'result' && (row.status === 'failed' || failedRegions(row).length > 0));
}
