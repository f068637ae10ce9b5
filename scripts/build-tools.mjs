// Bundles the local stack (`npm start`) and the CLI beside the function's bundle in dist/:
// local.js and local-host.js (the child process that loads dist/index.js), and cli.js (the `bin`).
import { build } from 'esbuild';

await build({
  entryPoints: { local: 'src/local/main.ts', 'local-host': 'src/local/handler-host.ts', cli: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  // As in build.mjs: urllib requires proxy-agent only when a proxy is configured, and it is not installed.
  external: ['proxy-agent', 'fsevents'],
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
