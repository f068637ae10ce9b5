import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // vm pools break on ali-oss's dependency chain (testing.md §8); forks is the default and works.
    pool: 'forks',
    testTimeout: 30_000,
    // Scans every log line and written object of the whole suite for secrets once it is over.
    globalSetup: ['test/support/secret-scan-setup.ts'],
  },
});
