import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The fault suite's figures: a table at the end of every run that includes a scenario.
    globalSetup: ['test/faults/report-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
