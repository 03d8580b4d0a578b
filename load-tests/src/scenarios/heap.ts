/**
 * Where an idle stream's heap goes: open `from` streams, take a V8 heap snapshot of the server,
 * open up to `to`, take another, and divide what was added by kind of object. Run against Herald
 * and the bare node:http floor side by side, the difference is what Herald itself keeps per
 * stream. A diagnostic, not a comparison: it prints, and writes no result file.
 */
import { watch } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { heapByConstructor, type PerStreamRow, perStream } from '../harness/heap-snapshot.js'
import { markdownTable } from '../report/markdown-table.js'
import type { Target, TargetName } from '../targets/index.js'
import { subscriptions, withSession } from './session.js'

export interface HeapParams {
  readonly from: number
  readonly to: number
}

export interface HeapResult {
  readonly target: TargetName
  /** V8 heap each stream adds, in bytes. */
  readonly bytesPerStream: number
  readonly rows: readonly PerStreamRow[]
}

export async function runHeap(name: TargetName, params: HeapParams): Promise<HeapResult> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-heap-'))
  try {
    return await withSession(
      name,
      { connections: params.to, timeoutMs: 300_000, heapSnapshotDir: dir },
      async ({ target, open }) => {
        const all = await subscriptions(target, params.to, 'heap-')
        await open(all.slice(0, params.from))
        const before = heapByConstructor(JSON.parse(await readFile(await writeSnapshot(target, dir), 'utf8')))
        await open(all.slice(params.from))
        const after = heapByConstructor(JSON.parse(await readFile(await writeSnapshot(target, dir), 'utf8')))
        const rows = perStream(before, after, params.to - params.from)
        return { target: name, bytesPerStream: rows.reduce((sum, row) => sum + row.bytes, 0), rows }
      },
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Signals the server to write a snapshot and resolves to its path once it is complete. */
async function writeSnapshot(target: Target, dir: string): Promise<string> {
  const written = new Promise<string>((resolve, reject) => {
    const watcher = watch(dir, (_, file) => {
      if (!file?.endsWith('.heapsnapshot')) return
      watcher.close()
      clearTimeout(timer)
      resolve(join(dir, file))
    })
    const timer = setTimeout(() => {
      watcher.close()
      reject(new Error(`${target.name}: no heap snapshot within 60 s`))
    }, 60_000)
  })
  process.kill(target.groups[0]!.pids()[0]!, 'SIGUSR2')
  const path = await written
  // The server writes it on its main thread: once it answers a request, the file is whole.
  await answered(target)
  return path
}

/** One request on a connection of its own that the server then closes, so no socket of it stays to count. */
function answered(target: Target): Promise<void> {
  return new Promise((resolve, reject) => {
    get({ host: target.host, port: target.port, path: '/', agent: false }, (response) => {
      response.resume()
      response.once('end', () => resolve())
    }).once('error', reject)
  })
}

/** The runs side by side as a Markdown table: heap bytes (objects) per stream by kind, then the total. */
export function heapTable(results: readonly HeapResult[], minBytes = 8): string {
  const names = new Set(
    results.flatMap((r) => r.rows.filter((row) => Math.abs(row.bytes) >= minBytes).map((row) => row.name)),
  )
  const cell = (result: HeapResult, name: string) => {
    const row = result.rows.find((r) => r.name === name)
    return row === undefined ? '0' : `${row.bytes.toFixed(0)} (${row.count.toFixed(1)})`
  }
  const largest = (name: string) => Math.max(...results.map((r) => r.rows.find((row) => row.name === name)?.bytes ?? 0))
  return markdownTable(
    ['kind', ...results.map((r) => `${r.target}: bytes (objects) per stream`)],
    [
      ...[...names].sort((a, b) => largest(b) - largest(a)).map((name) => [name, ...results.map((r) => cell(r, name))]),
      ['**total**', ...results.map((r) => `**${r.bytesPerStream.toFixed(0)}**`)],
    ],
  )
}
