/**
 * A redis process the harness owns for a whole test suite: its port, temp dir and command line are
 * fixed when it is created, so tests can kill, restart and stop it while clients keep the same
 * address. Standalone servers, cluster nodes, replicas and sentinels are all built from this.
 */
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOOPBACK, redisCli } from './cli.js'
import { freePort } from './free-port.js'
import { PortInUseError, type RedisProcess, spawnRedis } from './redis-process.js'
import { trackDir, untrackDir } from './registry.js'

/** How long a SIGTERMed server may take to shut down before it is SIGKILLed. */
const STOP_GRACE_MS = 10_000
/** Fresh-port attempts when another process takes a picked port before redis binds it. */
const PORT_ATTEMPTS = 5

export interface RedisServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** The running process's pid; `undefined` while it is killed or stopped. */
  readonly pid: number | undefined
  /** SIGKILL the process (no persistence: data is gone); resolves when it has exited. */
  kill(): Promise<void>
  /** Start again on the same port with the same config (after kill or stop); resolves when ready. */
  restart(): Promise<void>
  /** SIGTERM and wait for exit, then remove the temp dir. Idempotent. */
  stop(): Promise<void>
  /** Run redis-cli against this server with these args; resolves to trimmed stdout; rejects on non-zero exit. */
  cli(...args: string[]): Promise<string>
}

/** What a server needs once its ports and dir are known. */
export interface ServerLayout {
  readonly port: number
  /** Ports beyond `port` that were asked for (e.g. the cluster bus port). */
  readonly extraPorts: readonly number[]
  readonly dir: string
}

export interface ServerSpec {
  /** Names the server in errors and its temp dir, e.g. `cluster-node`. */
  readonly kind: string
  /** How many more free ports besides the main one (default 0). */
  readonly extraPorts?: number
  /** The full redis-server argv. */
  argv(layout: ServerLayout): string[]
  /** Files to create in the dir (relative name to content) before each start, unless they already exist. */
  files?(layout: ServerLayout): Record<string, string>
  /** Log line meaning ready (default "Ready to accept connections"). */
  readonly ready?: RegExp
  /** A command to run redis-server under (see SpawnOptions), and how long it may take to be ready. */
  readonly wrapper?: readonly string[]
  readonly readyTimeoutMs?: number
}

/** The flags every data-bearing node gets: loopback only, no persistence, foreground, logs on stdout. */
export function dataNodeArgs(layout: ServerLayout): string[] {
  return [
    '--port',
    String(layout.port),
    '--bind',
    LOOPBACK,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    layout.dir,
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    // Full syncs start at once instead of after the default 5 s, so replicas and promotions settle fast.
    '--repl-diskless-sync-delay',
    '0',
  ]
}

/** Create a server on fresh free ports in a new temp dir; resolves once it is ready. */
export async function launchServer(spec: ServerSpec): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const extraPorts: number[] = []
    for (let i = 0; i < (spec.extraPorts ?? 0); i++) extraPorts.push(await freePort())
    const dir = await mkdtemp(join(tmpdir(), `herald-redis-${spec.kind}-`))
    trackDir(dir)
    const server = new ManagedRedisServer(spec, { port, extraPorts, dir })
    try {
      await server.restart()
      return server
    } catch (error) {
      await server.stop()
      if (!(error instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw error
    }
  }
}

/** Stop every server (in parallel); used to tear down multi-process setups, also after a failed start. */
export async function stopAll(servers: Iterable<RedisServer>): Promise<void> {
  await Promise.all([...servers].map((server) => server.stop()))
}

class ManagedRedisServer implements RedisServer {
  readonly host = LOOPBACK
  readonly port: number
  readonly url: string
  readonly #spec: ServerSpec
  readonly #layout: ServerLayout
  #process: RedisProcess | undefined
  #stopping: Promise<void> | undefined

  constructor(spec: ServerSpec, layout: ServerLayout) {
    this.#spec = spec
    this.#layout = layout
    this.port = layout.port
    this.url = `redis://${LOOPBACK}:${layout.port}`
  }

  get pid(): number | undefined {
    return this.#process?.running() ? this.#process.pid : undefined
  }

  async kill(): Promise<void> {
    await this.#process?.signal('SIGKILL')
  }

  async restart(): Promise<void> {
    // Restarting a running server means "bounce it", without losing its dir.
    if (this.#process?.running()) await this.#terminate()
    await this.#stopping
    this.#stopping = undefined
    await this.#prepareDir()
    this.#process = await spawnRedis({
      label: `${this.#spec.kind} ${LOOPBACK}:${this.port}`,
      args: this.#spec.argv(this.#layout),
      cwd: this.#layout.dir,
      ready: this.#spec.ready ?? /Ready to accept connections/,
      ...(this.#spec.wrapper === undefined ? {} : { wrapper: this.#spec.wrapper }),
      ...(this.#spec.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: this.#spec.readyTimeoutMs }),
    })
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#terminate()
      untrackDir(this.#layout.dir)
      await rm(this.#layout.dir, { recursive: true, force: true })
    })()
    return this.#stopping
  }

  cli(...args: string[]): Promise<string> {
    return redisCli(this.port, args)
  }

  /** SIGTERM, and SIGKILL if shutdown hangs (e.g. a master waiting for lagging replicas). */
  async #terminate(): Promise<void> {
    const running = this.#process
    if (!running?.running()) return
    const timer = setTimeout(() => void running.signal('SIGKILL'), STOP_GRACE_MS)
    try {
      await running.signal('SIGTERM')
    } finally {
      clearTimeout(timer)
    }
  }

  /** The dir is removed by stop(); a later restart() recreates it with the initial files. */
  async #prepareDir(): Promise<void> {
    await mkdir(this.#layout.dir, { recursive: true })
    trackDir(this.#layout.dir)
    const files = this.#spec.files?.(this.#layout) ?? {}
    for (const [name, content] of Object.entries(files)) {
      const path = join(this.#layout.dir, name)
      const exists = await access(path).then(
        () => true,
        () => false,
      )
      // Sentinels rewrite their config with what they learned; keep that across a restart.
      if (!exists) await writeFile(path, content)
    }
  }
}
