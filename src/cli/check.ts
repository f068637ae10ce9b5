import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Crc64 } from '../checksum';
import { loadConfig } from '../config';
import { PublisherError } from '../errors';
import { type Manifest, parseManifest } from '../manifest/manifest';
import { ZipInspector, checkLayout, readCentralDirectory, type ZipContents } from '../zip';
import { CliError } from './io';

export interface CheckReport {
  ok: boolean;
  zip: { path: string; size: number; crc64?: string; entries?: number };
  manifest: { path: string; layerName?: string; compatibleRuntime?: string[] };
  /** What the function would refuse, with the result's error code. */
  problems: { code: string; message: string }[];
}

/** `<dir>/<stem>.zip` has its manifest at `<dir>/<stem>.layer.json` (CONTRACT §3). */
export function manifestPathFor(zipPath: string): string {
  if (!zipPath.endsWith('.zip')) throw new CliError(`${zipPath}: the layer file must end in .zip (the function only publishes .zip keys)`);
  return `${zipPath.slice(0, -'.zip'.length)}.layer.json`;
}

/**
 * What the function checks, run locally (CONTRACT §4 and §5): the manifest's rules, the zip's size
 * limit, that it is a zip, its layout against the runtimes; and its CRC-64, as OSS will report it.
 */
export async function checkLayer(zipPath: string, manifestPath: string): Promise<CheckReport> {
  const report: CheckReport = { ok: true, zip: { path: zipPath, size: 0 }, manifest: { path: manifestPath }, problems: [] };
  const problem = (error: unknown): void => {
    if (!(error instanceof PublisherError)) throw error;
    report.problems.push({ code: error.code, message: error.message });
  };
  // The zip first: a missing zip is the mistake to report, not the manifest that goes with it.
  const size = await sizeOf(zipPath);
  let manifest: Manifest | undefined;
  try {
    manifest = parseManifest(await readLocal(manifestPath, '--manifest'), manifestPath);
    report.manifest = { path: manifestPath, layerName: manifest.layerName, compatibleRuntime: [...manifest.compatibleRuntime] };
  } catch (error) {
    problem(error);
  }
  report.zip.size = size;
  const { maxZipBytes } = loadConfig(process.env);
  if (size > maxZipBytes) {
    report.problems.push({ code: 'ZipTooLarge', message: `${zipPath} is ${size} bytes, over MAX_ZIP_BYTES (${maxZipBytes} bytes)` });
  } else {
    try {
      const { crc64, contents } = await inspectZip(zipPath, size);
      report.zip.crc64 = crc64;
      report.zip.entries = contents.entryCount;
      if (manifest) checkLayout(contents, manifest.compatibleRuntime);
    } catch (error) {
      problem(error);
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** The file's CRC-64 (ECMA-182, as OSS reports it) without reading it twice or holding it. */
export async function fileCrc64(path: string): Promise<string> {
  const crc = new Crc64();
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) crc.update(chunk);
  return crc.digest();
}

async function inspectZip(path: string, size: number): Promise<{ crc64: string; contents: ZipContents }> {
  const crc = new Crc64();
  const inspector = new ZipInspector(size);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    crc.update(chunk);
    inspector.update(chunk);
  }
  const inspection = inspector.finish();
  const contents =
    inspection.kind === 'complete'
      ? inspection.contents
      : await readCentralDirectory(inspection, createReadStream(path, { start: inspection.start, end: inspection.end }) as AsyncIterable<Buffer>);
  return { crc64: crc.digest(), contents };
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
    `zip       ${report.zip.path} (${report.zip.size} bytes${report.zip.entries === undefined ? '' : `, ${report.zip.entries} entries`})`,
    ...(report.zip.crc64 ? [`crc64     ${report.zip.crc64}`] : []),
    `manifest  ${report.manifest.path}${report.manifest.layerName ? ` (layer ${report.manifest.layerName}, ${report.manifest.compatibleRuntime?.join(', ')})` : ''}`,
    ...report.problems.map((p) => `error     ${p.code}: ${p.message}`),
    report.ok ? 'ok: the function would accept this layer' : `not ok: ${report.problems.length} problem(s)`,
  ];
  return lines.join('\n');
}
