// Bundles the function into dist/index.js: one CommonJS file that runs with no node_modules beside it.
import { build } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';

await mkdir('dist', { recursive: true });
const result = await build({
  entryPoints: { index: 'src/index.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  metafile: true,
  legalComments: 'none',
  // urllib requires proxy-agent only when a proxy is configured; it is not installed (testing.md §7).
  external: ['proxy-agent'],
  logLevel: 'warning',
});
await writeFile('dist/meta.json', JSON.stringify(result.metafile));
const bytes = result.metafile.outputs['dist/index.js']?.bytes ?? 0;
console.log(`dist/index.js: ${(bytes / 1e6).toFixed(2)} MB`);
