/**
 * Thin wrapper over `redis-cli`, the harness's only way of talking to its servers: it needs no
 * client library and behaves the same against standalone, cluster and sentinel processes.
 */
import { execFile } from 'node:child_process'

export const LOOPBACK = '127.0.0.1'

/** A guard against a stopped (SIGSTOP) or wedged server hanging a test forever. */
const CLI_TIMEOUT_MS = 15_000

/**
 * Run `redis-cli -h 127.0.0.1 -p <port> ...args` and resolve to its trimmed stdout. Rejects when
 * redis-cli exits non-zero (e.g. the server is unreachable). Note that redis-cli 7.0 exits 0 on an
 * error reply, which then comes back as text such as `ERR unknown command ...`.
 */
export function redisCli(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-cli',
      ['-h', LOOPBACK, '-p', String(port), ...args],
      { timeout: CLI_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const detail = `${stderr}${stdout}`.trim() || error.message
          reject(new Error(`redis-cli -p ${port} ${args.join(' ')} failed: ${detail}`))
          return
        }
        resolve(stdout.trim())
      },
    )
  })
}

/** Parse `INFO` output (`key:value` lines, `# Section` headers) into a map. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    const colon = line.indexOf(':')
    if (line === '' || line.startsWith('#') || colon < 0) continue
    fields.set(line.slice(0, colon), line.slice(colon + 1))
  }
  return fields
}

/**
 * Parse a redis-cli raw rendering of an array of field/value maps (e.g. `SENTINEL replicas`),
 * which prints every element on its own line. Each entry starts at its `name` field.
 */
export function parseEntries(text: string): Map<string, string>[] {
  const lines = text === '' ? [] : text.split('\n').map((line) => line.trim())
  const entries: Map<string, string>[] = []
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const key = lines[i]!
    const value = lines[i + 1]!
    if (key === 'name' || entries.length === 0) entries.push(new Map())
    entries[entries.length - 1]!.set(key, value)
  }
  return entries
}
