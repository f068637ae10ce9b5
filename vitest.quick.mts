import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.mjs';

/**
 * `npm run test:quick`: the unit-level files, for the loop of a change (CONTRIBUTING.md). Left out is
 * every file that builds or runs the bundles, starts processes, the local stack, a browser or real
 * sockets, or replays chaos: `npm test` runs them all.
 */
const SLOW_TESTS = [
  // Real loopback sockets: the same suites run in-process through msw in the *.msw.test.ts files.
  'test/**/*.socket.test.ts',
  'test/fc/local-fc.test.ts',
  // Headless Chromium.
  'test/**/*.browser.test.ts',
  // Build dist/ and run it, in this process or in child ones.
  'test/bundle/**',
  'test/contract/**',
  'test/deploy/deploy.test.ts',
  'test/cli/installed.test.ts',
  // The local stack of `npm start`, with its handler host process.
  'test/local/**',
  'test/docs/readme-samples.test.ts',
  // Seeded chaos and processes killed mid-write.
  'test/faults/chaos.test.ts',
  'test/faults/chaos-regressions.test.ts',
  'test/faults/process-kill.test.ts',
  'test/regions/region-kill.test.ts',
  'test/regions/copy-memory.test.ts',
];

export default mergeConfig(base, defineConfig({ test: { exclude: [...configDefaults.exclude, ...SLOW_TESTS] } }));
