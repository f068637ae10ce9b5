import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { zipSync } from 'fflate';
import type { OssEmulator } from '../emulator';

/** The example's folder and manifest under `examples/`, and where they go in the bucket. */
const EXAMPLE_NAME = 'hello-layer';
export const EXAMPLE_ZIP_KEY = `layers/${EXAMPLE_NAME}.zip`;
export const EXAMPLE_MANIFEST_KEY = `layers/${EXAMPLE_NAME}.layer.json`;
/** A fixed date for every entry: the same source zips to the same bytes, so the same CRC-64. */
const ENTRY_DATE = new Date('2024-01-01T00:00:00Z');

/**
 * Puts the example layer in the bucket as if it had been uploaded earlier (no event: the start-up
 * scan delivers one for it, as for any layer without a result), and returns its keys.
 */
export async function putExampleLayer(oss: OssEmulator, bucket: string, examplesDir: string): Promise<string[]> {
  const manifest = await readFile(join(examplesDir, `${EXAMPLE_NAME}.layer.json`));
  const zip = await zipFolder(join(examplesDir, EXAMPLE_NAME));
  await oss.putObject(bucket, EXAMPLE_MANIFEST_KEY, manifest, { contentType: 'application/json' });
  await oss.putObject(bucket, EXAMPLE_ZIP_KEY, zip, { contentType: 'application/zip' });
  return [EXAMPLE_ZIP_KEY, EXAMPLE_MANIFEST_KEY];
}

/** Zips a folder's files with paths relative to it: the folder's contents are the layer's top level. */
export async function zipFolder(folder: string): Promise<Uint8Array> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const entry of entries.filter((e) => e.isFile()).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    const path = join(entry.parentPath, entry.name);
    files[relative(folder, path).split(sep).join('/')] = [await readFile(path), { mtime: ENTRY_DATE }];
  }
  return zipSync(files);
}
