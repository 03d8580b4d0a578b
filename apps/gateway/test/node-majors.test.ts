/**
 * The SSE writer and the HTTP layer reach into node:http's and node:net's internals (a
 * response's socket and chunked encoding, cork counts, pipelined responses), which change
 * between majors: Node.js 22 drops what a response without a socket yet held corked when it
 * ends, where 20 and 24 send it. The suite runs on one Node.js and users run 20 to 24, so the
 * unit tests of those modules run again here on each other supported major.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { REGISTRY_NODE_VERSIONS, registryNode } from './registry-node.js'

const GATEWAY = fileURLToPath(new URL('..', import.meta.url))
const VITEST = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs')
const NODE_INTERNALS = ['src/hub', 'src/http']

interface JsonReport {
  numTotalTests: number
  numPassedTests: number
  testResults: { name: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[]
}

/** Runs the unit tests of `dirs` with vitest on `node`; its JSON report, whatever the exit code. */
function runUnitTests(node: string, dirs: string[]): Promise<JsonReport> {
  const out = mkdtempSync(join(tmpdir(), 'herald-node-majors-'))
  const report = join(out, 'report.json')
  return new Promise<JsonReport>((resolve, reject) => {
    execFile(
      node,
      [VITEST, 'run', ...dirs, '--reporter=json', `--outputFile=${report}`],
      { cwd: GATEWAY, timeout: 360_000, maxBuffer: 64 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        try {
          resolve(JSON.parse(readFileSync(report, 'utf8')) as JsonReport)
        } catch {
          reject(new Error(`vitest on ${node} wrote no report: ${String(error)}\n${stderr}`))
        } finally {
          rmSync(out, { recursive: true, force: true })
        }
      },
    )
  })
}

describe.each(REGISTRY_NODE_VERSIONS)('on Node.js %s', (version) => {
  it('the modules that reach into node:http pass their unit tests', { timeout: 540_000 }, async () => {
    const node = registryNode(version)
    const report = await runUnitTests(node, NODE_INTERNALS)
    const failed = report.testResults.flatMap((file) =>
      file.assertionResults
        .filter((test) => test.status !== 'passed')
        .map((test) => `${file.name}: ${test.fullName} (${test.status})\n${test.failureMessages.join('\n')}`),
    )
    expect(failed).toEqual([])
    // Every file was found and ran: a path that matched nothing would pass with no tests at all.
    expect(report.numPassedTests).toBe(report.numTotalTests)
    expect(report.numTotalTests).toBeGreaterThan(100)
  })
})
