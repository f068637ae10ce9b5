import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { summarizeContents } from '../audit/cyclonedx';
import type { ContentsSummary } from '../result/document';
import { loadConfig } from '../config';
import { PublisherError } from '../errors';
import { type Manifest, parseManifest } from '../manifest/manifest';
import { type ArchiveRead, type ByteSource, type OnChunk, checkLayout, readArchive } from '../zip';
import { formatBytes, formatExactBytes } from '../console/format';
import { CliError } from '../console/io';
import type { RegionTarget } from '../config';
import { selectRegionTargets } from '../regions/targets';

/** The regions a publisher is configured with, for the manifest's `regions` to be checked against. */
export interface PublisherRegions {
  home: string;
  configured: RegionTarget[];
}

export interface CheckReport {
  ok: boolean;
  zip: { path: string; size: number; crc64?: string; entries?: number };
  manifest: { path: string; layerName?: string; compatibleRuntime?: string[] };
  /** What the zip holds, as the function will record it for the version (src/audit/cyclonedx.ts), and its packages. */
  contents?: ContentsSummary & { found: { ecosystem: string; name: string; version?: string; path: string }[] };
  /** What the function would refuse, with the result's error code and the zip entry at fault, if one is. */
  problems: { code: string; message: string; entry?: string }[];
}

/** `<dir>/<stem>.zip` has its manifest at `<dir>/<stem>.layer.json` (docs/contract.md §3). */
export function manifestPathFor(zipPath: string): string {
  if (!zipPath.endsWith('.zip')) throw new CliError(`${zipPath}: the layer file must end in .zip (the function only publishes .zip keys)`);
  return `${zipPath.slice(0, -'.zip'.length)}.layer.json`;
}

/**
 * What the function checks, run locally (docs/contract.md §4 and §5): the manifest's rules (for FC_API_VERSION),
 * the zip's size limit, that it is a zip every entry of which unpacks as it claims, its names and layout
 * against the runtimes; and its CRC-64, as OSS will report it. `tap` gets every byte of the zip the
 * checks read, once, at its position: `publish` uploads from it (src/cli/one-pass-upload.ts).
 */
export async function checkLayer(zipPath: string, manifestPath: string, regions?: PublisherRegions, tap?: OnChunk): Promise<CheckReport> {
  const report: CheckReport = { ok: true, zip: { path: zipPath, size: 0 }, manifest: { path: manifestPath }, problems: [] };
  const problem = (error: unknown): void => {
    if (!(error instanceof PublisherError)) throw error;
    const { entry } = error.context;
    report.problems.push({ code: error.code, message: error.message, ...(typeof entry === 'string' ? { entry } : {}) });
  };
  // The zip first: a missing zip is the mistake to report, not the manifest that goes with it.
  const size = await sizeOf(zipPath);
  let manifest: Manifest | undefined;
  const { maxZipBytes, maxUnpackedBytes, fcApiVersion, readConcurrency } = loadConfig(process.env);
  try {
    manifest = parseManifest(await readLocal(manifestPath, '--manifest'), manifestPath, fcApiVersion);
    report.manifest = { path: manifestPath, layerName: manifest.layerName, compatibleRuntime: [...manifest.compatibleRuntime] };
    // The function's own choice of regions: a manifest may narrow the publisher's regions, never widen them.
    if (regions !== undefined) selectRegionTargets(regions.configured, regions.home, manifest.regions, manifestPath);
  } catch (error) {
    problem(error);
  }
  report.zip.size = size;
  if (size > maxZipBytes) {
    report.problems.push({ code: 'ZipTooLarge', message: `${zipPath} is ${formatExactBytes(size)}, over MAX_ZIP_BYTES = ${formatExactBytes(maxZipBytes)}` });
  } else {
    try {
      const read = await inspectZip(zipPath, size, { concurrency: readConcurrency, maxUnpackedBytes, tap });
      const { crc64, contents } = read;
      report.zip.crc64 = crc64;
      report.zip.entries = contents.entryCount;
      const found = (read.packages?.packages ?? []).map(({ ecosystem, name, version, path }) => ({
        ecosystem,
        name,
        ...(version === undefined ? {} : { version }),
        path,
      }));
      report.contents = { ...summarizeContents(read), found };
      if (manifest) checkLayout(contents, manifest.compatibleRuntime);
    } catch (error) {
      problem(error);
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

/**
 * The local read's chunk: fewer, larger reads than fs's 64 KiB default cost the main thread less per byte
 * (each read and each socket write `publish` makes of it is a call), and hold no more than a few MiB.
 */
const READ_CHUNK_BYTES = 1024 * 1024;

/** The function's own read (readArchive), over the local file. */
async function inspectZip(
  path: string,
  size: number,
  options: { concurrency: number; maxUnpackedBytes: number; tap: OnChunk | undefined },
): Promise<ArchiveRead> {
  const { concurrency, maxUnpackedBytes, tap } = options;
  const source: ByteSource = {
    size,
    concurrency: () => concurrency,
    read: async (range, onChunk, signal) => {
      let position = range.start;
      for await (const chunk of createReadStream(path, {
        start: range.start,
        end: range.end,
        signal,
        highWaterMark: READ_CHUNK_BYTES,
      }) as AsyncIterable<Buffer>) {
        await onChunk(chunk, position);
        if (tap) await tap(chunk, position);
        position += chunk.length;
      }
    },
  };
  return readArchive(source, { maxUnpackedBytes });
}

export async function sizeOf(path: string): Promise<number> {
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile()) throw new CliError(`${path}: no such file`);
  return found.size;
}

async function readLocal(path: string, flag: string): Promise<Buffer> {
  return readFile(path).catch(() => {
    throw new CliError(`${path}: cannot read the manifest (give its path with ${flag})`);
  });
}

export function describeCheck(report: CheckReport): string {
  const lines = [
    `zip       ${report.zip.path} (${formatBytes(report.zip.size)}${report.zip.entries === undefined ? '' : `, ${report.zip.entries} entries`})`,
    ...(report.zip.crc64 ? [`crc64     ${report.zip.crc64}`] : []),
    ...(report.contents ? describeContents(report.contents) : []),
    `manifest  ${report.manifest.path}${report.manifest.layerName ? ` (layer ${report.manifest.layerName}, ${report.manifest.compatibleRuntime?.join(', ')})` : ''}`,
    ...report.problems.map((p) => `error     ${p.code}${p.entry === undefined ? '' : ` (entry ${JSON.stringify(p.entry)})`}: ${p.message}`),
    report.ok ? 'ok: the function would accept this layer' : `not ok: ${report.problems.length} problem(s)`,
  ];
  return lines.join('\n');
}

/** How many packages `check` names before it says how many more there are (--json lists them all). */
const NAMED_PACKAGES = 20;

/** The contents the version will record: counts, the top-level folders, the packages by name. */
function describeContents(contents: NonNullable<CheckReport['contents']>): string[] {
  const { npm, pypi, maven } = contents.packages;
  const names = contents.found.map((found) => `${found.name}${found.version === undefined ? '' : ` ${found.version}`}`);
  const more = names.length > NAMED_PACKAGES ? `, and ${names.length - NAMED_PACKAGES} more (--json lists them)` : '';
  return [
    `contents  ${contents.files} files, ${contents.unpackedBytes} bytes unpacked, in ${contents.topLevel.map((folder) => `${folder}/`).join(', ') || '(no folder)'}`,
    `packages  ${npm} npm, ${pypi} PyPI, ${maven} jar${contents.skipped > 0 ? ` (${contents.skipped} package file(s) not read)` : ''}${names.length > 0 ? `: ${names.slice(0, NAMED_PACKAGES).join(', ')}${more}` : ''}`,
  ];
}
