import { defineConfig } from 'vitest/config'

// Three files at a time: they wait on real Redis processes more than they use a core (74 s one
// at a time on 2 cores, 43 s three at a time).
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000, maxWorkers: 3, minWorkers: 1 },
})
