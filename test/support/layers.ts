import { zipSync } from 'fflate';

/** A layer zip built the way people build them; `files` maps entry names to contents. */
export function makeZip(files: Record<string, string | Uint8Array>): Buffer {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, content] of Object.entries(files)) {
    entries[name] = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  }
  return Buffer.from(zipSync(entries, { level: 6, mtime: new Date('2026-01-01T00:00:00Z') }));
}

/** A small valid nodejs layer. `seed` changes its bytes (and so its CRC). */
export function nodejsLayerZip(seed = 'v1'): Buffer {
  return makeZip({
    'nodejs/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: seed }),
    'nodejs/node_modules/left-pad/index.js': `module.exports = (s) => s; // ${seed}`,
  });
}

export function manifestBytes(manifest: unknown): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2));
}

export const NODE_MANIFEST = {
  layerName: 'left-pad',
  description: 'left-pad for Node.js',
  compatibleRuntime: ['nodejs20', 'nodejs18'],
};

/** Event names that do not create a whole object: docs/contract.md §3 says they make no request at all. */
export const IGNORED_EVENT_NAMES = [
  'ObjectCreated:InitiateMultipartUpload',
  'ObjectCreated:UploadPart',
  'ObjectCreated:AppendObject',
  'ObjectCreated:PutSymlink',
  'ObjectRemoved:DeleteObject',
  'ObjectRemoved:DeleteObjects',
];
