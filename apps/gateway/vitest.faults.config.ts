import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

// `pnpm faults`: only the fault suite, at full scale unless HERALD_FAULT_SCALE says otherwise.
process.env['HERALD_FAULT_SCALE'] ??= 'full'

export default defineConfig({
  test: {
    ...base.test,
    include: ['test/faults/**/*.test.ts'],
    // At full scale a scenario keeps a core busy: one file at a time.
    maxWorkers: 1,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
})
