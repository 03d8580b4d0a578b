import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Three files at a time, whatever the core count: most of a file's time is spent waiting on
    // real processes (Redis restarts, failovers, a 60 s TTL), not on CPU. On 2 cores Vitest's
    // default of one fewer worker than cores ran one file at a time: 562 s against 280 s for three.
    maxWorkers: 3,
    minWorkers: 1,
    // The fault suite's figures: a table at the end of every run that includes a scenario.
    globalSetup: ['test/faults/report-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
