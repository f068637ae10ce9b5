import { recordsFolder } from '../audit/layout';
import type OSS from 'ali-oss';
import { loadConfig } from '../config';
import { ConfigError } from '../errors';
import { RESULT_SUFFIX } from '../keys';
import { type TableOptions, formatTable } from '../console/format';
import { didYouMean } from '../console/args';
import { CliError, type CliIo, EXIT_DENIED, EXIT_NO_SUCH_BUCKET, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, exitCodesHelp, tableOptions } from '../console/io';
import { type TrailEntry, foldUploaders, identityOf, parseTrailEntry, statusLabel, stringOf, uploadedBy } from '../report/trail';
import { ossFailure } from './failures';
import { ossClient } from './oss';
import { listKeys } from './results';

export interface TrailLocation {
  bucket: string;
  prefix: string;
  endpoint: string | undefined;
  region: string | undefined;
  auditPrefix: string;
}

export interface TrailFilter {
  layer: string | undefined;
  since: Date | undefined;
}

/** The flags every command that reads the trail takes (parseArgs options). */
export const TRAIL_OPTIONS = {
  bucket: { type: 'string' },
  prefix: { type: 'string', default: '' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'audit-prefix': { type: 'string' },
  layer: { type: 'string' },
} as const;

export const SINCE_OPTION = { since: { type: 'string' } } as const;

export const TRAIL_HELP = `  --bucket <b>          the bucket the publisher watches (required)
  --prefix <p>          only layers whose zip is under this prefix (default: all)
  --endpoint <url>      OSS endpoint, e.g. http://127.0.0.1:9000 for npm start (default: from --region)
  --region <id>         e.g. cn-hangzhou (default: ALIBABA_CLOUD_REGION or FC_REGION)
  --audit-prefix <p>    where the audit records are (default: AUDIT_PREFIX or _audit/)
  --layer <name>        only this layer
`;

export const SINCE_HELP = `  --since <date>        only what happened from this date or time on (2026-11-20, 2026-11-20T08:00:00Z)
`;

type Values = Record<string, string | boolean | undefined>;

/** Reading many small objects one by one is slow; more at once than this and OSS throttles. */
const READ_CONCURRENCY = 8;
/** Records and results are small; a bigger object under these keys was not written by the publisher. */
const MAX_RECORD_BYTES = 1024 * 1024;

export function trailLocation(values: Values, env: Record<string, string | undefined>): TrailLocation {
  const bucket = stringOf(values.bucket);
  if (bucket === undefined) throw new CliError('--bucket is required');
  let auditPrefix: string;
  try {
    auditPrefix = loadConfig({ AUDIT_PREFIX: stringOf(values['audit-prefix']) ?? env.AUDIT_PREFIX }).auditPrefix;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CliError(`--audit-prefix: ${error.message}`);
  }
  return { bucket, prefix: stringOf(values.prefix) ?? '', endpoint: stringOf(values.endpoint), region: stringOf(values.region), auditPrefix };
}

export function trailFilter(values: Values): TrailFilter {
  const since = stringOf(values.since);
  let sinceDate: Date | undefined;
  if (since !== undefined) {
    sinceDate = new Date(/^\d{4}-\d{2}-\d{2}$/.test(since) ? `${since}T00:00:00Z` : since);
    if (Number.isNaN(sinceDate.getTime())) {
      throw new CliError(`--since must be a date or a time such as 2026-11-20 or 2026-11-20T08:00:00Z, got ${JSON.stringify(since)}`);
    }
  }
  return { layer: stringOf(values.layer), since: sinceDate };
}

/**
 * The whole trail under the location, oldest first: every audit record, and every result that no
 * audit record repeats (a result is written with its audit record; one without is all that is left).
 */
export async function readTrail(location: TrailLocation, filter: TrailFilter, env: Record<string, string | undefined>): Promise<TrailEntry[]> {
  const client = ossClient({ bucket: location.bucket, endpoint: location.endpoint, region: location.region }, env);
  const recordsPrefix = recordsFolder(location.auditPrefix);
  // Records live under records/<UTC date of finishedAt>/: days before --since need not be listed.
  const startAfter = filter.since ? `${recordsPrefix}${filter.since.toISOString().slice(0, 10)}` : undefined;
  const [recordKeys, resultKeys] = await Promise.all([
    listKeys(client, recordsPrefix, startAfter),
    listKeys(client, location.prefix, undefined).then((keys) => keys.filter((key) => key.endsWith(RESULT_SUFFIX) && !key.startsWith(location.auditPrefix))),
  ]);
  const records = foldUploaders((await readAll(client, recordKeys)).map(([key, body]) => parseTrailEntry('audit', key, body)));
  const seen = new Set(records.map(identityOf));
  const results = (await readAll(client, resultKeys))
    .map(([key, body]) => parseTrailEntry('result', key, body))
    .filter((entry) => !seen.has(identityOf(entry)));
  return [...records, ...results]
    .filter((entry) => entry.from === 'result' || entry.zipKey === undefined || entry.zipKey.startsWith(location.prefix))
    .filter((entry) => filter.layer === undefined || entry.layerName === filter.layer)
    .filter((entry) => filter.since === undefined || (entry.when !== undefined && Date.parse(entry.when) >= filter.since.getTime()))
    .sort((a, b) => (a.when ?? '').localeCompare(b.when ?? '') || a.key.localeCompare(b.key));
}

/** Each key with its parsed JSON body, or undefined when it is not a JSON object we can read. */
export async function readAll(client: OSS, keys: readonly string[]): Promise<[string, unknown][]> {
  const read: [string, unknown][] = new Array(keys.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const index = next++;
      const key = keys[index] as string;
      read[index] = [key, await readJson(client, key)];
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));
  return read;
}

async function readJson(client: OSS, key: string): Promise<unknown> {
  let content: unknown;
  try {
    ({ content } = await client.get(key));
  } catch (error) {
    // Deleted between the listing and the read: it is no longer part of the trail.
    if ((error as { status?: number }).status === 404) return undefined;
    throw ossFailure(client, `reading ${key}`, error);
  }
  const bytes = Buffer.from(content as Uint8Array);
  if (bytes.length > MAX_RECORD_BYTES) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A cell as a terminal may show it: records are whatever someone wrote to the bucket, and an escape
 * sequence in a principal id or a message must not move the cursor or rewrite the screen.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function auditTable(entries: readonly TrailEntry[], options: TableOptions = {}): string {
  if (entries.length === 0) return 'No audit records or results.';
  const dash = (value: string | number | undefined): string => (value === undefined ? '-' : printable(String(value)));
  // With REGIONS, other regions' records name theirs; a record that names none is the bucket's own region.
  const byRegion = entries.some((entry) => entry.region !== undefined);
  return formatTable(
    ['when', 'layer', ...(byRegion ? ['region'] : []), 'version', 'status', 'uploaded by', 'from', 'uploaded at', 'crc64', 'detail'],
    entries.map((entry) => [
      dash(entry.when),
      dash(entry.layerName),
      ...(byRegion ? [dash(entry.region ?? 'home')] : []),
      dash(entry.version),
      dash(statusLabel(entry)),
      dash(uploadedBy(entry.provenance)),
      dash(entry.provenance.zip?.sourceIp),
      dash(entry.provenance.zip?.eventTime),
      dash(entry.crc64),
      dash(entry.error ? `${entry.error.code}: ${entry.error.message}` : entry.zipKey),
    ]),
    options,
  );
}

export const auditCommand = {
  help: `Usage: layer-publisher audit --bucket <b> [--layer <name>] [--since <date>] [--json]

The history of every layer (or one) from the bucket: each audit record under <AUDIT_PREFIX>records/
and each result, oldest first: when, layer, version, status, who uploaded the zip, from where and
when, its CRC-64, and what went wrong. "-" where a record does not say. A --layer that no record or
result names is a mistake (exit 2), with the nearest name the trail knows.
${TRAIL_HELP}${SINCE_HELP}${exitCodesHelp([EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_DENIED, EXIT_NO_SUCH_BUCKET])}`,
  options: { ...TRAIL_OPTIONS, ...SINCE_OPTION },
  positionals: 0,
  async run(values: Values, _positionals: string[], io: CliIo): Promise<number> {
    const location = trailLocation(values, io.env);
    const filter = trailFilter(values);
    const entries = await readTrail(location, filter, io.env);
    if (entries.length === 0 && filter.layer !== undefined) await refuseUnknownLayer(filter.layer, location, io.env);
    io.out(`${values.json ? JSON.stringify(entries) : auditTable(entries, tableOptions(values, io))}\n`);
    return EXIT_OK;
  },
};

/**
 * A --layer with nothing to show: a typo is the likely cause. Unknown when the whole trail (any date)
 * names it nowhere; a layer the trail knows with nothing since --since is an empty history, not a mistake.
 */
async function refuseUnknownLayer(layer: string, location: TrailLocation, env: Record<string, string | undefined>): Promise<void> {
  const known = [...new Set((await readTrail(location, { layer: undefined, since: undefined }, env)).flatMap((entry) => entry.layerName ?? []))].sort();
  if (known.includes(layer)) return;
  const where = `under ${location.prefix === '' ? 'the bucket' : `prefix ${location.prefix}`}`;
  const listed =
    known.length === 0
      ? 'the trail names no layer yet'
      : `it names ${known.slice(0, 10).join(', ')}${known.length > 10 ? ` and ${known.length - 10} more` : ''}`;
  throw new CliError(`--layer ${JSON.stringify(layer)} is unknown: no audit record or result ${where} names it${didYouMean(layer, known) || ` (${listed})`}`);
}
