import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // vm pools break on ali-oss's dependency chain (testing.md §8); forks is the default and works.
    pool: 'forks',
    testTimeout: 30_000,
  },
});
