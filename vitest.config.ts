import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // 2-core machines: more workers only add contention
    maxWorkers: 2,
    env: { RAILYARD_LOG_LEVEL: process.env.RAILYARD_LOG_LEVEL ?? 'silent' },
  },
});
