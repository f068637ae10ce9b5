import semver from 'semver';
import { contentsFolder, contentsKey, contentsKeyParts } from '../audit/layout';
import { formatTable } from '../console/format';
import { type ContentsDiff, type ContentsPackage, type VersionContents, changeLines, diffContents, isEmptyDiff, parseContents } from '../report/contents';
import type { TrailEntry } from '../report/trail';
import { TRAIL_HELP, TRAIL_OPTIONS, type TrailLocation, auditCommand, printable, readAll, readTrail, trailLocation } from './audit';
import { CliError, type CliIo, EXIT_OK } from '../console/io';
import { ossClient } from './oss';
import { listKeys } from './results';

/**
 * `diff` and `audit --package`: what is inside layer versions, read from the CycloneDX documents the
 * publisher writes (src/report/contents.ts). semver is the CLI's own: nothing here is in the function's bundle.
 */

/** `lodash`, `lodash@<4.17.21`, `@scope/name@^1.2`: a name, and a semver range its version must fall in. */
export interface PackageQuery {
  name: string;
  range: string | undefined;
}

export function parsePackageQuery(text: string): PackageQuery {
  // A scope's @ is part of the name: the range starts at the next one.
  const at = text.indexOf('@', text.startsWith('@') ? 1 : 0);
  const name = at === -1 ? text : text.slice(0, at);
  const range = at === -1 ? undefined : text.slice(at + 1);
  if (name === '' || name === '@' || /\s/.test(name)) {
    throw new CliError(`--package ${JSON.stringify(text)}: give a package name, optionally with a version range: lodash, 'lodash@<4.17.21', '@scope/name@^1'`);
  }
  if (range !== undefined && semver.validRange(range, { loose: true }) === null) {
    throw new CliError(`--package ${JSON.stringify(text)}: ${JSON.stringify(range)} is not a semver range (e.g. <4.17.21, ^1.2, >=2 <3, 1.x)`);
  }
  return { name, range };
}

/** PyPI names match whatever their case and runs of -, _ and . (PEP 503); npm and Maven names as written. */
function sameName(found: ContentsPackage, name: string): boolean {
  if (found.ecosystem !== 'pypi') return found.name === name;
  const normal = (text: string) => text.toLowerCase().replace(/[-_.]+/g, '-');
  return normal(found.name) === normal(name);
}

/**
 * Whether a package found in a layer answers the query. A version that is not semver (PyPI's `2.0`,
 * `1.0.post1`) is compared as the semver it starts with; one with none (a jar named only by its file) matches no range.
 */
export function matchesQuery(found: ContentsPackage, query: PackageQuery): boolean {
  if (!sameName(found, query.name)) return false;
  if (query.range === undefined) return true;
  const version = found.version === undefined ? null : (semver.valid(found.version, { loose: true }) ?? semver.coerce(found.version)?.version ?? null);
  return version !== null && semver.satisfies(version, query.range, { loose: true, includePrerelease: true });
}

export interface PackageHolder {
  layerName: string;
  /** `home` for the bucket's own region, else the region's id. */
  region: string;
  version: number;
  package: ContentsPackage;
  /** The CycloneDX document that says so (the home version's). */
  sbom: string;
}

/**
 * Every layer version holding a package that answers the query, in every region: the documents name
 * the home versions; the other regions' audit records carry the same zip's CRC-64 and their own version.
 */
export function packageHolders(documents: readonly VersionContents[], trail: readonly TrailEntry[], query: PackageQuery): PackageHolder[] {
  const holders: PackageHolder[] = [];
  for (const document of documents) {
    const copies = trail.filter(
      (entry) =>
        entry.region !== undefined &&
        entry.layerName === document.layerName &&
        document.crc64 !== undefined &&
        entry.crc64 === document.crc64 &&
        entry.version !== undefined &&
        (entry.status === 'published' || entry.status === 'unchanged'),
    );
    const regions = new Map<string, number>([['home', document.version]]);
    for (const copy of copies) regions.set(copy.region!, copy.version!);
    for (const found of document.packages.filter((candidate) => matchesQuery(candidate, query))) {
      for (const [region, version] of regions) holders.push({ layerName: document.layerName, region, version, package: found, sbom: document.key });
    }
  }
  return holders.sort((a, b) => a.layerName.localeCompare(b.layerName) || a.region.localeCompare(b.region) || a.version - b.version);
}

/** Every CycloneDX document under the location (one layer's with `layer`), oldest version first. */
export async function readContentsDocuments(
  location: TrailLocation,
  layer: string | undefined,
  env: Record<string, string | undefined>,
): Promise<VersionContents[]> {
  const client = ossClient({ bucket: location.bucket, endpoint: location.endpoint, region: location.region }, env);
  const keys = (await listKeys(client, contentsFolder(location.auditPrefix, layer))).filter((key) => contentsKeyParts(key) !== undefined);
  const documents: VersionContents[] = [];
  for (const [key, body] of await readAll(client, keys)) {
    // Unreadable or foreign documents are left out of a search, not allowed to stop it.
    if (body === undefined) continue;
    try {
      documents.push(parseContents(key, body));
    } catch {}
  }
  return documents.sort((a, b) => a.layerName.localeCompare(b.layerName) || a.version - b.version);
}

/** The package search `audit --package` prints. */
export async function auditPackage(
  location: TrailLocation,
  layer: string | undefined,
  text: string,
  env: Record<string, string | undefined>,
): Promise<PackageHolder[]> {
  const query = parsePackageQuery(text);
  const [documents, trail] = await Promise.all([readContentsDocuments(location, layer, env), readTrail(location, { layer, since: undefined }, env)]);
  return packageHolders(documents, trail, query);
}

export function holdersTable(holders: readonly PackageHolder[], text: string): string {
  if (holders.length === 0) return `No layer version holds ${text}.`;
  return formatTable(
    ['layer', 'region', 'version', 'package', 'package version', 'path'],
    holders.map((holder) => [
      printable(holder.layerName),
      printable(holder.region),
      String(holder.version),
      printable(holder.package.name),
      printable(holder.package.version ?? '-'),
      printable(holder.package.path ?? '-'),
    ]),
  );
}

/** The contents of one home version, or a CliError naming the key that is missing or unreadable. */
async function readVersionContents(location: TrailLocation, layer: string, version: number, env: Record<string, string | undefined>): Promise<VersionContents> {
  const key = contentsKey(location.auditPrefix, layer, version);
  const client = ossClient({ bucket: location.bucket, endpoint: location.endpoint, region: location.region }, env);
  const [[, body] = [key, undefined]] = await readAll(client, [key]);
  if (body === undefined) {
    throw new CliError(`no contents for ${layer} version ${version}: ${key} is not in the bucket (versions published before contents were recorded have none)`);
  }
  try {
    return parseContents(key, body);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

export function parseVersionArgument(name: string, text: string): number {
  const version = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(version) || version < 1) {
    throw new CliError(`${name} must be a layer version number (1, 2, ...), got ${JSON.stringify(text)}`);
  }
  return version;
}

export async function diffVersions(
  location: TrailLocation,
  layer: string,
  from: number,
  to: number,
  env: Record<string, string | undefined>,
): Promise<ContentsDiff> {
  const [older, newer] = await Promise.all([readVersionContents(location, layer, from, env), readVersionContents(location, layer, to, env)]);
  return diffContents(older, newer);
}

const sizeOf = (bytes: number | undefined): string => (bytes === undefined ? '-' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
const countOf = (count: number | undefined): string => (count === undefined ? '-' : count.toLocaleString('en'));

export function describeDiff(diff: ContentsDiff): string {
  const lines = [
    `${printable(diff.layerName)}: version ${diff.from} -> ${diff.to}`,
    `  files:     ${countOf(diff.files.from)} -> ${countOf(diff.files.to)}`,
    `  unpacked:  ${sizeOf(diff.unpackedBytes.from)} -> ${sizeOf(diff.unpackedBytes.to)}`,
    `  packages:  ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`,
    ...changeLines(diff).map((line) => `  ${printable(line)}`),
  ];
  if (isEmptyDiff(diff)) lines.push('  (the same contents)');
  return lines.join('\n');
}

export const diffCommand = {
  help: `Usage: layer-publisher diff <layer> <v1> <v2> --bucket <b> [--json]

What changed inside a layer from version <v1> to <v2> (the home region's numbers), from the contents
the publisher recorded for each (<AUDIT_PREFIX>contents/<layer>/v<n>.cdx.json, docs/contents-use.md):
packages added (+), removed (-) and changed (~) by ecosystem and name, the file count and the unpacked size.
${TRAIL_HELP}`,
  options: TRAIL_OPTIONS,
  positionals: 3,
  async run(values: Record<string, string | boolean | undefined>, [layer = '', from = '', to = '']: string[], io: CliIo): Promise<number> {
    const diff = await diffVersions(trailLocation(values, io.env), layer, parseVersionArgument('<v1>', from), parseVersionArgument('<v2>', to), io.env);
    io.out(`${values.json ? JSON.stringify(diff) : describeDiff(diff)}\n`);
    return EXIT_OK;
  },
};

/** `audit`, and with --package the versions holding a package instead of the history. */
export const auditWithPackageCommand = {
  help: `${auditCommand.help.replace('[--json]', '[--package <name[@range]>] [--json]')}  --package <p>         every layer version holding this package instead, in every region, from the
                        contents recorded per version (docs/contents-use.md): lodash,
                        'lodash@<4.17.21', '@scope/name@^1' (a semver range)
`,
  options: { ...auditCommand.options, package: { type: 'string' } } as const,
  positionals: 0,
  async run(values: Record<string, string | boolean | undefined>, positionals: string[], io: CliIo): Promise<number> {
    const query = typeof values.package === 'string' ? values.package : undefined;
    if (query === undefined) return auditCommand.run(values, positionals, io);
    if (values.since !== undefined) throw new CliError('--since and --package do not go together: contents are kept per version, not per day');
    const layer = typeof values.layer === 'string' ? values.layer : undefined;
    const holders = await auditPackage(trailLocation(values, io.env), layer, query, io.env);
    io.out(`${values.json ? JSON.stringify(holders) : holdersTable(holders, query)}\n`);
    return EXIT_OK;
  },
};
