import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FunctionStore, StoredFunction } from './fc-functions';
import type { LayerStore, StoredLayer } from './fc-layers';

/** Layers in one JSON file a person can read (`{"layers": [...]}`). */
export function jsonFileLayerStore(path: string): LayerStore {
  return jsonFileList<StoredLayer>(path, 'layers', 'a layer file');
}

/** Functions and the layer versions they use, in one JSON file a person can read (`{"functions": [...]}`). */
export function jsonFileFunctionStore(path: string): FunctionStore {
  return jsonFileList<StoredFunction>(path, 'functions', 'a function file');
}

/**
 * One array under one key of a JSON file. Written whole after every change through a temporary
 * file and a rename, so a crash leaves the old file or the new one, never half of one. Synchronous:
 * the file is small, and a change must be on disk before FC answers.
 */
function jsonFileList<T>(path: string, key: string, what: string): { load(): T[]; save(items: T[]): void } {
  return {
    load() {
      if (!existsSync(path)) return [];
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      const items = parsed[key];
      if (!Array.isArray(items)) throw new Error(`${path} is not ${what}: it has no "${key}" array`);
      return items as T[];
    },
    save(items) {
      mkdirSync(dirname(path), { recursive: true });
      const staged = `${path}.${process.pid}.tmp`;
      writeFileSync(staged, `${JSON.stringify({ [key]: items }, null, 2)}\n`);
      renameSync(staged, path);
    },
  };
}
