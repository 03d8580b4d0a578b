/**
 * Real nginx for the tests, running the shipped infra/nginx/herald.conf with only
 * its listen addresses and certificate paths replaced, and a fleet of gateway
 * processes on one Redis behind it.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { HeraldPublisher } from '@herald/publisher'
import { freePort, type RedisServer, startRedis, untilAccepting } from '@herald/redis-harness'
import { RecordingEventSource, signToken } from './harness.js'
import { type GatewayNode, startNodes, stopNodes } from './redis-nodes.js'

const run = promisify(execFile)
const SHIPPED_CONFIG = new URL('../../../infra/nginx/herald.conf', import.meta.url).pathname

export interface Nginx {
  /** Plain HTTP/1.1 entry point. */
  readonly url: string
  /** HTTP/2 over TLS entry point (self-signed certificate). */
  readonly tlsUrl: string
  reload(): Promise<void>
  stop(): Promise<void>
}

export async function startNginx(upstreams: readonly string[]): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-nginx-'))
  const [port, tlsPort] = [await freePort(), await freePort()]
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
  const site = shipped
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`)
    .replace('listen 80;', `listen 127.0.0.1:${port};`)
    .replace('/etc/nginx/tls/herald.crt', join(dir, 'herald.crt'))
    .replace('/etc/nginx/tls/herald.key', join(dir, 'herald.key'))
  if (site === shipped) throw new Error('the shipped nginx config changed shape; update test/nginx.ts')
  await writeFile(join(dir, 'herald.conf'), site)
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream herald_gateways {
    least_conn;
${upstreams.map((u) => `    server ${u} max_fails=0;`).join('\n')}
    keepalive 16;
  }
  include ${join(dir, 'herald.conf')};
}
`,
  )
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]
  const child: ChildProcess = spawn('nginx', args, { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await untilAccepting(port)
  return {
    url: `http://127.0.0.1:${port}`,
    tlsUrl: `https://127.0.0.1:${tlsPort}`,
    async reload() {
      await run('nginx', [...args, '-s', 'reload'])
    },
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

/** One Redis, a gateway process per entry of `envs` (with a short drain window), and nginx in front. */
export async function startNginxFleet(envs: ReadonlyArray<Record<string, string>>): Promise<NginxFleet> {
  const redis = await startRedis()
  const nodes = (
    await Promise.all(envs.map((env) => startNodes(redis.url, 1, { DRAIN_WINDOW_MS: '500', ...env })))
  ).flat()
  const nginx = await startNginx(nodes.map((node) => new URL(node.url).host))
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
