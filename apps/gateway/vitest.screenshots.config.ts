import { defineConfig } from 'vitest/config'

/** `pnpm screenshots`: regenerates docs/images/bell-*.png from the demo page (not part of `pnpm test`). */
export default defineConfig({
  test: {
    include: ['test/browser/screenshots.ts'],
    testTimeout: 60_000,
  },
})
