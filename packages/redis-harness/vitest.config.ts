import { defineConfig } from 'vitest/config'

// Three files at a time: a Sentinel or a Cluster taking shape is waiting, not computing.
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000, maxWorkers: 3, minWorkers: 1 },
})
