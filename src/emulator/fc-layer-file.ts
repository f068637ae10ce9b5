import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LayerStore, StoredLayer } from './fc-layers';

/**
 * Layers in one JSON file a person can read. Written whole after every change through a temporary
 * file and a rename, so a crash leaves the old file or the new one, never half of one. Synchronous:
 * the file is small, and a registry change must be on disk before FC answers.
 */
export function jsonFileLayerStore(path: string): LayerStore {
  return {
    load() {
      if (!existsSync(path)) return [];
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as { layers?: unknown };
      if (!Array.isArray(parsed.layers)) throw new Error(`${path} is not a layer file: it has no "layers" array`);
      return parsed.layers as StoredLayer[];
    },
    save(layers) {
      mkdirSync(dirname(path), { recursive: true });
      const staged = `${path}.${process.pid}.tmp`;
      writeFileSync(staged, `${JSON.stringify({ layers }, null, 2)}\n`);
      renameSync(staged, path);
    },
  };
}
