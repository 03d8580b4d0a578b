import { defineConfig } from 'vitest/config'

// The smoke runs start real servers and worker processes: one file at a time, generous timeouts.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 120_000, fileParallelism: false } })
