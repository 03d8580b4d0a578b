/**
 * Test harness: real gateways on free ports, real tokens, and real SSE
 * clients over HTTP. Nothing is mocked; every wait resolves on an event.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { Writable } from 'node:stream'
import { type ParsedEvent, SseParser } from '@herald/protocol'
import { EventSource } from 'eventsource'
import { type JWTPayload, SignJWT } from 'jose'
import { type GatewayConfig, type LogLevel, loadConfig } from '../src/config/config.js'
import { createLogger } from '../src/log/logger.js'
import { type Gateway, type StartOptions, startGateway } from '../src/server.js'

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!'
export const TEST_API_KEY = 'test-publish-key-0123456789'

export interface TestGateway extends Gateway {
  token(sub: string, claims?: JWTPayload & { expiresIn?: string | number }): Promise<string>
  publish(body: unknown, apiKey?: string): Promise<PostedJson>
  eventsUrl(query?: Record<string, string>): string
}

export async function startTestGateway(
  env: Record<string, string> = {},
  options: StartOptions = {},
  argv: string[] = [],
): Promise<TestGateway> {
  const gateway = await startGateway(testGatewayConfig(env, argv), options)
  return {
    ...gateway,
    token: (sub, claims = {}) => signToken(sub, claims),
    publish: (body, apiKey = TEST_API_KEY) => postJson(`${gateway.url}/v1/publish`, body, apiKey),
    eventsUrl: (query = {}) => `${gateway.url}/v1/events?${new URLSearchParams(query)}`,
  }
}

/** A logger at `level` that keeps each JSON line it writes, in `lines`, for a test to read. */
export function recordingLogger(level: LogLevel, lines: string[] = []) {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { logger: createLogger(level, sink), lines }
}

/** The configuration startTestGateway runs: a free port on loopback, quiet, short retries. */
export function testGatewayConfig(env: Record<string, string> = {}, argv: string[] = []): GatewayConfig {
  return loadConfig({
    env: {
      JWT_SECRET: TEST_SECRET,
      PUBLISH_API_KEY: TEST_API_KEY,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      RETRY_MS: '100',
      // Tokens expire exactly at exp, so expiry tests need not wait out the default leeway.
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
      ...env,
    },
    argv,
  })
}

export async function signToken(
  sub: string,
  { expiresIn = '1h', ...claims }: JWTPayload & { expiresIn?: string | number } = {},
  secret: string = TEST_SECRET,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret))
}

export interface PostedJson {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

export async function postJson(url: string, body: unknown, apiKey?: string): Promise<PostedJson> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(apiKey === undefined ? {} : { Authorization: `Bearer ${apiKey}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
}

export interface ReceivedEvent {
  readonly type: string
  readonly data: string
  readonly lastEventId: string
}

/**
 * A spec-following EventSource (the `eventsource` package) that records every
 * event of the given types, reconnecting by itself with Last-Event-ID.
 */
export class RecordingEventSource {
  readonly events: ReceivedEvent[] = []
  readonly source: EventSource
  opens = 0
  /** `herald.ready` events: one per accepted (re)connection. */
  readies = 0
  #waiters: Array<{ done: () => boolean; resolve: () => void }> = []

  /** `token` may be a function, asked for a fresh token on every (re)connection. */
  constructor(
    url: string,
    options: { token?: string | (() => Promise<string>); lastEventId?: string; types?: readonly string[] } = {},
  ) {
    const { token } = options
    let first = true
    this.source = new EventSource(url, {
      fetch: async (input, init) => {
        const merged: Record<string, string> = { ...(init?.headers as Record<string, string>) }
        if (token !== undefined) merged['Authorization'] = `Bearer ${typeof token === 'string' ? token : await token()}`
        if (first && options.lastEventId !== undefined) merged['Last-Event-ID'] = options.lastEventId
        first = false
        return fetch(input, { ...init, headers: merged })
      },
    })
    this.source.addEventListener('open', () => {
      this.opens++
      this.#check()
    })
    this.source.addEventListener('herald.ready', () => {
      this.readies++
      this.#check()
    })
    for (const type of ['message', 'herald.reset', 'herald.unavailable', ...(options.types ?? [])]) {
      this.source.addEventListener(type, (event) => {
        this.events.push({ type, data: event.data, lastEventId: event.lastEventId })
        this.#check()
      })
    }
  }

  /** The parsed payloads of events of `type`, in arrival order. */
  payloads(type = 'message'): unknown[] {
    return this.events.filter((e) => e.type === type).map((e) => JSON.parse(e.data))
  }

  count(type?: string): number {
    return type === undefined ? this.events.length : this.events.filter((e) => e.type === type).length
  }

  /** Resolves once `count` events (of `type`, if given) have arrived. */
  waitForEvents(count: number, type?: string, timeoutMs = 15_000): Promise<void> {
    return this.#waitUntil(
      () => this.count(type) >= count,
      timeoutMs,
      () => `${count} ${type ?? ''} events, got ${this.count(type)}`,
    )
  }

  /** Resolves once `done` holds, re-checked on every event. */
  waitUntil(done: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    return this.#waitUntil(done, timeoutMs, () => what)
  }

  /** Resolves once the stream has gone live (`herald.ready`) `times` times in all. */
  waitForReady(times = 1, timeoutMs = 15_000): Promise<void> {
    return this.#waitUntil(
      () => this.readies >= times,
      timeoutMs,
      () => `${times} herald.ready, got ${this.readies}`,
    )
  }

  close(): void {
    this.source.close()
  }

  #waitUntil(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    const reached = new Promise<void>((resolve) => {
      this.#waiters.push({ done, resolve })
      this.#check()
    })
    return withTimeout(reached, timeoutMs, () => `expected ${describe()}`)
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.done()) return true
      waiter.resolve()
      return false
    })
  }
}

/** A raw HTTP SSE reader for checking status, headers, comments and framing byte for byte. */
export class RawSseStream {
  readonly events: ParsedEvent[] = []
  readonly comments: string[] = []
  readonly retries: number[] = []
  readonly ids: string[] = []
  text = ''
  isEnded = false
  status = 0
  headers: http.IncomingHttpHeaders = {}
  readonly ended: Promise<void>
  #request: http.ClientRequest
  #changed: Array<() => void> = []

  constructor(url: string, headers: Record<string, string> = {}) {
    const parser = new SseParser({
      onEvent: (e) => this.events.push(e),
      onComment: (c) => this.comments.push(c),
      onRetry: (ms) => this.retries.push(ms),
      onId: (id) => this.ids.push(id),
    })
    let endResolve: () => void = () => {}
    this.ended = new Promise((resolve) => {
      endResolve = resolve
    })
    this.#request = http.get(url, { headers }, (response) => {
      this.status = response.statusCode ?? 0
      this.headers = response.headers
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        this.text += chunk
        parser.push(chunk)
        this.#notify()
      })
      response.on('close', () => {
        this.isEnded = true
        endResolve()
        this.#notify()
      })
      this.#notify()
    })
    this.#request.on('error', () => {
      this.isEnded = true
      endResolve()
      this.#notify()
    })
  }

  /** Resolves when `predicate` holds, re-checked on every chunk; rejects if the stream ends first. */
  until(predicate: (stream: this) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate(this)) resolve()
          else if (this.isEnded)
            reject(new Error(`stream ended before ${what}: ${JSON.stringify(this.text.slice(-300))}`))
          else this.#changed.push(check)
        }
        check()
      }),
      timeoutMs,
      () => `${what} not met; received so far: ${JSON.stringify(this.text.slice(-500))}`,
    )
  }

  json(): any {
    return JSON.parse(this.text)
  }

  close(): void {
    this.#request.destroy()
  }

  #notify(): void {
    const waiting = this.#changed
    this.#changed = []
    for (const check of waiting) check()
  }
}

export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Starts an HTTP server on a free loopback port; resolves to its base URL. */
export async function listenOnFreePort(server: http.Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address() as { port: number }
  return `http://127.0.0.1:${address.port}`
}

export interface GatewayProcess {
  readonly child: ChildProcess
  /** Everything written to stdout and stderr so far. */
  output(): string
  /** What was written to stdout alone so far: the log lines. */
  stdout(): string
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>
  /** Resolves once stdout or stderr contains a match, with the match. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  stop(): Promise<number | null>
}

/**
 * Runs the built gateway, `node dist/main.js`, as a user would; on this Node.js unless told
 * another, and with the open-file limit `fileLimit` (util-linux's prlimit) when given.
 */
export function spawnGateway(
  env: Record<string, string>,
  args: string[] = [],
  node = process.execPath,
  fileLimit?: number,
): GatewayProcess {
  const main = new URL('../dist/main.js', import.meta.url).pathname
  const command = fileLimit === undefined ? [node, main] : ['prlimit', `--nofile=${fileLimit}:${fileLimit}`, node, main]
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    // A short drain window keeps test shutdowns quick; tests of draining set their own.
    env: { PATH: process.env['PATH'] ?? '', DRAIN_WINDOW_MS: '300', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let stdout = ''
  let listeners: Array<() => void> = []
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8')
    for (const listener of listeners.splice(0)) listener()
  }
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    onData(chunk)
  })
  child.stderr!.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    output: () => output,
    stdout: () => stdout,
    exited,
    waitForOutput(pattern, timeoutMs = 15_000) {
      const found = new Promise<RegExpMatchArray>((resolve) => {
        const check = () => {
          const match = pattern.exec(output)
          if (match !== null) resolve(match)
          else listeners.push(check)
        }
        check()
      })
      const exitedFirst = exited.then(() => pattern.exec(output) ?? Promise.reject(new Error(`exited: ${output}`)))
      return withTimeout(
        Promise.race([found, exitedFirst]),
        timeoutMs,
        () => `output matching ${pattern}; got ${output}`,
      )
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      listeners = []
      return exited
    },
  }
}

/** The built gateway with working test configuration (plus `env`), once it is listening. */
export async function startGatewayProcess(
  env: Record<string, string> = {},
  node?: string,
  fileLimit?: number,
): Promise<{ process: GatewayProcess; url: string }> {
  const process = spawnGateway(
    {
      JWT_SECRET: TEST_SECRET,
      PUBLISH_API_KEY: TEST_API_KEY,
      HOST: '127.0.0.1',
      PORT: '0',
      RETRY_MS: '100',
      ...env,
    },
    [],
    node,
    fileLimit,
  )
  const url = (await process.waitForOutput(/"url":"(http:\/\/[^"]+)"/, 30_000))[1]!
  return { process, url }
}

/** The whole answer to `bytes` on a fresh connection, once the server closes it or `done` holds. */
export function exchange(
  url: string,
  bytes: string | Buffer,
  done: (text: string) => boolean = () => false,
): Promise<string> {
  const { hostname, port } = new URL(url)
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      let text = ''
      const socket = net.connect(Number(port), hostname, () => socket.write(bytes))
      socket.setEncoding('latin1')
      socket.on('data', (chunk: string) => {
        text += chunk
        if (done(text)) {
          socket.destroy()
          resolve(text)
        }
      })
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    }),
    5000,
    () => `no answer to ${JSON.stringify(String(bytes))}`,
  )
}

/** Status, headers (lower-cased) and JSON error code of a raw answer (chunked or not). */
export function parse(answer: string): { status: number; headers: string; code: string | undefined } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1])
  const split = answer.indexOf('\r\n\r\n')
  const headers = answer.slice(0, split).toLowerCase()
  const body = answer.slice(split + 4)
  const json = /\{.*\}/.exec(body)?.[0]
  return { status, headers, code: json === undefined ? undefined : JSON.parse(json).error?.code }
}
