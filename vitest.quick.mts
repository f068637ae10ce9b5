import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.mjs';

/**
 * `npm run test:quick`: the unit-level files, for the loop of a change (CONTRIBUTING.md). Left out is
 * every file that builds or runs the bundles, starts processes, the local stack, a browser or real
 * sockets, or replays faults and chaos: `npm test` runs them all.
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
  // Injected faults, interleaved deliveries, seeded chaos and processes killed mid-write: in this process
  // or not, they replay whole publishes many times over, and took half the subset's time.
  'test/faults/**',
  'test/regions/region-kill.test.ts',
  'test/regions/copy-memory.test.ts',
  // Whole publishes through the handler, many per test (every region, every rollout path, every bad
  // input and zip of the corpora): the slowest in-process files, a minute of the subset between them.
  'test/publish/handler.test.ts',
  'test/publish/lifecycle.test.ts',
  'test/regions/publish-regions.test.ts',
  'test/rollout/rollout.test.ts',
  'test/notify/notices.test.ts',
  'test/zip/corpus.test.ts',
  'test/corpus/bad-inputs.test.ts',
];

export default mergeConfig(base, defineConfig({ test: { exclude: [...configDefaults.exclude, ...SLOW_TESTS] } }));
