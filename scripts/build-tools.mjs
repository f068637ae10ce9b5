// Bundles the local stack (`npm start`) and the CLI beside the function's bundle in dist/:
// local.js and local-host.js (the child process that loads dist/index.js), and cli.js (the `bin`).
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // As in build.mjs: urllib requires proxy-agent only when a proxy is configured, and it is not installed.
  external: ['proxy-agent', 'fsevents'],
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
};

// Run from the repository only: an inline map costs nothing there and keeps stacks readable.
await build({ ...common, entryPoints: { local: 'src/local/main.ts', 'local-host': 'src/local/handler-host.ts' }, outdir: 'dist', sourcemap: 'inline' });

// The one file the npm package ships (package.json "files"), with every dependency inside it: minified,
// its map beside it in dist/cli.js.map (not shipped, and not named in the bundle). test/cli/installed.test.ts
// holds it under 3 MB.
await build({ ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', minify: true, legalComments: 'eof', sourcemap: 'external' });
