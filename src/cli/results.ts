import type OSS from 'ali-oss';
import { loadConfig } from '../config';
import { RESULT_SUFFIX } from '../keys';
import type { PublishResult } from '../publish/result';
import { formatTable } from '../local/format';
import { CliError } from './io';
import { describeOssError } from './oss';
import { readResult } from './publish';

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
}

/**
 * The `<stem>.result.json` objects under the prefix, and the newest audit records about keys under
 * it: each result says where a layer stands now, the audit records how it got there.
 */
export async function listResults(client: OSS, prefix: string, auditLimit: number): Promise<ResultRow[]> {
  const auditPrefix = `${loadConfig(process.env).auditPrefix}records/`;
  const resultKeys = (await listKeys(client, prefix)).filter((key) => key.endsWith(RESULT_SUFFIX) && !key.startsWith(auditPrefix));
  const auditKeys = (await listKeys(client, auditPrefix)).sort().reverse().slice(0, auditLimit);
  const rows: ResultRow[] = [];
  for (const key of resultKeys) {
    const result = await readResult(client, key);
    if (result) rows.push(rowOf('result', key, result));
  }
  for (const key of auditKeys) {
    const record = await readResult(client, key);
    if (record?.source?.key?.startsWith(prefix)) rows.push(rowOf('audit', key, record));
  }
  return rows;
}

function rowOf(kind: ResultRow['kind'], key: string, result: PublishResult): ResultRow {
  return {
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

async function listKeys(client: OSS, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  do {
    let page: OSS.ListObjectResult;
    try {
      // No empty prefix=: ali-oss V4 signs it as `prefix=`, OSS's own SDKs (and so OSS) as `prefix`.
      page = await client.list({ ...(prefix ? { prefix } : {}), 'max-keys': 1000, ...(marker ? { marker } : {}) }, {});
    } catch (error) {
      throw new CliError(`listing ${prefix || 'the bucket'} failed: ${describeOssError(error)}`);
    }
    keys.push(...(page.objects ?? []).map((object) => object.name));
    marker = page.isTruncated ? page.nextMarker : undefined;
  } while (marker);
  return keys;
}

export function resultsTable(rows: readonly ResultRow[]): string {
  if (rows.length === 0) return 'No results yet.';
  const dash = (value: unknown): string => (value === undefined ? '-' : String(value));
  return formatTable(
    ['kind', 'layer', 'version', 'status', 'size', 'crc64', 'when', 'key'],
    rows.map((r) => [r.kind, dash(r.layerName), dash(r.version), r.status, dash(r.size), dash(r.crc64), dash(r.when), r.key]),
  );
}
