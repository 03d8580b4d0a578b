/**
 * Real nginx for the tests, running the shipped infra/nginx/herald.conf with only
 * its listen addresses and certificate paths replaced, behind the upstreams of the
 * shipped infra/nginx/upstream.conf.example with only their server addresses
 * replaced, and a fleet of gateway processes on one Redis behind it.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { HeraldPublisher } from '@herald/publisher'
import { freePort, type RedisServer, startRedis } from '@herald/redis-harness'
import { RecordingEventSource, signToken } from './harness.js'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

const run = promisify(execFile)
const SHIPPED_CONFIG = new URL('../../../infra/nginx/herald.conf', import.meta.url).pathname
const SHIPPED_UPSTREAMS = new URL('../../../infra/nginx/upstream.conf.example', import.meta.url).pathname

/**
 * The shipped upstream blocks with their example servers replaced by `addresses`, each
 * keeping the parameters (max_fails, fail_timeout) its block gives its servers: those
 * parameters are part of what the tests check.
 */
export function templateUpstreams(shipped: string, addresses: readonly string[]): string {
  let blocks = 0
  const text = shipped.replace(/^upstream (\w+) \{\n([\s\S]*?)^\}/gm, (_block, name: string, body: string) => {
    blocks++
    const servers = [...body.matchAll(/^(\s*)server \S+((?: [^;]*)?);\n/gm)]
    if (servers.length === 0) throw new Error(`upstream ${name} in upstream.conf.example has no servers`)
    const [indent, params] = [servers[0]![1]!, servers[0]![2]!]
    const ours = addresses.map((address) => `${indent}server ${address}${params};\n`).join('')
    let first = true
    const rest = body.replace(/^\s*server \S+(?: [^;]*)?;\n/gm, () => {
      const replacement = first ? ours : ''
      first = false
      return replacement
    })
    return `upstream ${name} {\n${rest}}`
  })
  if (blocks === 0) throw new Error('upstream.conf.example changed shape; update test/nginx.ts')
  return text
}

export interface NginxOptions {
  /**
   * Exact snippets of herald.conf and their replacements, to scale its timeouts down so a
   * test of them runs in seconds. Each must occur in the shipped file.
   */
  readonly replace?: Readonly<Record<string, string>>
  /** nginx's `worker_connections` (default 4096), to test what it does when it runs out. */
  readonly workerConnections?: number
  /** nginx's `worker_shutdown_timeout` (main context, so not in herald.conf), as infra/README advises. */
  readonly workerShutdownTimeout?: string
}

export interface Nginx {
  /** Plain HTTP/1.1 to the HTTPS server's routes (a loopback listener the tests add). */
  readonly url: string
  /** The shipped plain-HTTP server, which only redirects to HTTPS. */
  readonly redirectUrl: string
  /** HTTP/2 over TLS entry point (self-signed certificate). */
  readonly tlsUrl: string
  reload(): Promise<void>
  /** nginx's error log so far (warn and above): one line per upstream failure, written as it happens. */
  errorLog(): Promise<string>
  /** The shipped access log so far. */
  accessLog(): Promise<string>
  stop(): Promise<void>
}

export async function startNginx(upstreams: readonly string[], options: NginxOptions = {}): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-nginx-'))
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-keyout',
    join(dir, 'herald.key'),
    '-out',
    join(dir, 'herald.crt'),
  ])
  const shipped = await readFile(SHIPPED_CONFIG, 'utf8')
  await writeFile(join(dir, 'upstream.conf'), templateUpstreams(await readFile(SHIPPED_UPSTREAMS, 'utf8'), upstreams))
  return removingOnFailure(
    dir,
    onFreshPorts(3, async ([port, tlsPort, redirectPort]) => {
      let site = shipped
        // The HTTPS server also listens in plain HTTP on loopback, so most tests skip TLS; the
        // shipped plain-HTTP server, which only redirects, gets a port of its own.
        .replace('listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;\n    listen 127.0.0.1:${port};`)
        .replace('listen 80;', `listen 127.0.0.1:${redirectPort};`)
        .replace('/etc/nginx/tls/herald.crt', join(dir, 'herald.crt'))
        .replace('/etc/nginx/tls/herald.key', join(dir, 'herald.key'))
        .replace('/var/log/nginx/herald-access.log', join(dir, 'access.log'))
      if (site === shipped) throw new Error('the shipped nginx config changed shape; update test/nginx.ts')
      for (const [from, to] of Object.entries(options.replace ?? {})) {
        if (!site.includes(from)) throw new Error(`herald.conf no longer contains ${JSON.stringify(from)}`)
        site = site.replaceAll(from, to)
      }
      await writeFile(join(dir, 'herald.conf'), site)
      const server = await runNginx(dir, [join(dir, 'upstream.conf'), join(dir, 'herald.conf')], options)
      return {
        url: `http://127.0.0.1:${port}`,
        tlsUrl: `https://127.0.0.1:${tlsPort}`,
        redirectUrl: `http://127.0.0.1:${redirectPort}`,
        reload: server.reload,
        errorLog: server.errorLog,
        accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
        stop: server.stop,
      }
    }),
  )
}

/** What `starting` resolves to; if it fails, `dir` is removed first, as a stop would have. */
async function removingOnFailure<T>(dir: string, starting: Promise<T>): Promise<T> {
  try {
    return await starting
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/** nginx exited at start because another process holds one of its ports. */
class NginxPortTakenError extends Error {}

/**
 * `start` on `count` freshly picked free ports, picked again when nginx finds one taken: a
 * port is free when picked, but another process (a server another test worker starts, or, in
 * the ephemeral range, any outgoing connection) can take it before nginx binds it. `pickPort`
 * is for the test that takes one on purpose.
 */
async function onFreshPorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  pickPort: () => Promise<number> = freePort,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = []
    for (let i = 0; i < count; i++) ports.push(await pickPort())
    try {
      return await start(ports)
    } catch (error) {
      if (!(error instanceof NginxPortTakenError) || attempt >= 5) throw error
    }
  }
}

/**
 * Any other shipped nginx site (such as k8s's edge fallback), with its one `listen` directive,
 * `listen`, moved to a free loopback port (from `pickPort`). Resolves to its base URL and a stop function.
 */
export async function startNginxSite(
  site: string,
  listen: string,
  pickPort: () => Promise<number> = freePort,
): Promise<{ url: string; stop(): Promise<void> }> {
  const directive = `listen ${listen};`
  if (!site.includes(directive)) throw new Error(`the site has no ${JSON.stringify(directive)}`)
  const dir = await mkdtemp(join(tmpdir(), 'herald-nginx-site-'))
  return removingOnFailure(
    dir,
    onFreshPorts(
      1,
      async ([port]) => {
        await writeFile(join(dir, 'site.conf'), site.replace(directive, `listen 127.0.0.1:${port};`))
        const server = await runNginx(dir, [join(dir, 'site.conf')])
        return { url: `http://127.0.0.1:${port}`, stop: server.stop }
      },
      pickPort,
    ),
  )
}

/**
 * Resolves once nginx has written `pid` into its pid file, which it does only once every
 * listener is bound and listening: a connection to one of its ports could be answered by
 * another process's listener, or by nginx while it still retries another port's bind (about
 * 2.5 s, before it exits). `signal` (its exit) ends the wait early.
 */
async function untilPidFile(path: string, pid: number, signal: AbortSignal, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    signal.throwIfAborted()
    if (Number((await readFile(path, 'utf8').catch(() => '')).trim()) === pid) return
    if (Date.now() > deadline) throw new Error(`nginx wrote no pid file within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** nginx in the foreground with its state in `dir`, including `includes` inside `http { }`, once it listens. */
async function runNginx(
  dir: string,
  includes: readonly string[],
  { workerConnections = 4096, workerShutdownTimeout }: NginxOptions = {},
) {
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
${workerShutdownTimeout === undefined ? '' : `worker_shutdown_timeout ${workerShutdownTimeout};`}
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${includes.map((path) => `  include ${path};`).join('\n')}
}
`,
  )
  const errorLog = join(dir, 'error.log')
  // Emptied, so what explains a failed start is this start's.
  await writeFile(errorLog, '')
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLog]
  const child: ChildProcess = spawn('nginx', args, { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stopWaiting = new AbortController()
  child.once('exit', (code, signal) => stopWaiting.abort(new Error(`nginx exited (${signal ?? code})`)))
  try {
    await untilPidFile(join(dir, 'nginx.pid'), child.pid!, stopWaiting.signal)
  } catch (error) {
    child.kill('SIGKILL')
    await exited
    const said = await readFile(errorLog, 'utf8').catch(() => '')
    if (said.includes('Address already in use')) throw new NginxPortTakenError(said)
    throw new Error(`nginx did not start: ${(error as Error).message}; its error log: ${said.trim()}`)
  }
  return {
    async reload() {
      await run('nginx', [...args, '-s', 'reload'])
    },
    errorLog: () => readFile(errorLog, 'utf8'),
    async stop() {
      child.kill('SIGTERM')
      await exited
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface NginxFleet {
  readonly redis: RedisServer
  readonly nodes: readonly GatewayNode[]
  readonly nginx: Nginx
  readonly publisher: HeraldPublisher
  /** A spec EventSource for `user` through nginx. */
  connect(user: string): Promise<RecordingEventSource>
  stop(): Promise<void>
}

/**
 * One Redis, a gateway process per entry of `envs` (with a short drain window), and nginx in
 * front. `extraUpstreams` are listed in the upstreams before the gateways, for servers that
 * stand in for broken hosts.
 */
export async function startNginxFleet(
  envs: ReadonlyArray<Record<string, string>>,
  options: NginxOptions & { readonly extraUpstreams?: readonly string[] } = {},
): Promise<NginxFleet> {
  const redis = await startRedis()
  const nodes = (
    await Promise.all(envs.map((env) => startNodes(redis.url, 1, { DRAIN_WINDOW_MS: '500', ...env })))
  ).flat()
  const nginx = await startNginx(
    [...(options.extraUpstreams ?? []), ...nodes.map((node) => new URL(node.url).host)],
    options,
  )
  const publisher = new HeraldPublisher({ redis: redis.url })
  const clients: RecordingEventSource[] = []
  return {
    redis,
    nodes,
    nginx,
    publisher,
    async connect(user) {
      const client = new RecordingEventSource(`${nginx.url}/v1/events`, { token: await signToken(user) })
      clients.push(client)
      return client
    },
    async stop() {
      for (const client of clients) client.close()
      await publisher.close()
      await nginx.stop()
      await stopNodes(nodes)
      await redis.stop()
    },
  }
}

/**
 * A host that never completes a TCP handshake, as a machine that is gone looks from
 * nginx: a listener with a one-connection accept queue in a stopped process, the queue
 * filled, so the kernel drops every further SYN.
 */
export async function startUnansweringHost(): Promise<{ readonly address: string; stop(): Promise<void> }> {
  // backlog 1: the kernel queues two connections (it refuses once more than the backlog wait).
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () {
        process.stdout.write(this.address().port + '\\n')
      })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const [line] = (await once(child.stdout!, 'data')) as [Buffer]
  const port = Number(line.toString('utf8').trim())
  child.kill('SIGSTOP')
  const fillers = await Promise.all(
    [0, 1].map(async () => {
      const socket = connect(port, '127.0.0.1')
      await once(socket, 'connect')
      return socket
    }),
  )
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      for (const socket of fillers) socket.destroy()
      child.kill('SIGKILL')
      await exited
    },
  }
}
