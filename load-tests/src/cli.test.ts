/** The harness's command line, as a user runs it (the built dist/, like the smoke tests). */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const CLI = new URL('../dist/src/cli.js', import.meta.url).pathname

describe('the load-tests command line', () => {
  it('refuses a scenario that would run none of --targets, writing nothing over its results', async () => {
    const out = await mkdtemp(join(tmpdir(), 'herald-load-cli-'))
    try {
      const failure = await run('node', [
        CLI,
        'nodes',
        '--scale',
        'smoke',
        '--targets',
        'nchan-memory',
        '--out',
        out,
      ]).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      )
      expect(failure?.code).toBe(2)
      expect(failure?.stderr).toMatch(/^nodes runs none of --targets nchan-memory: it runs herald$/m)
      expect(await readdir(out)).toEqual([])
    } finally {
      await rm(out, { recursive: true, force: true })
    }
  })
})
