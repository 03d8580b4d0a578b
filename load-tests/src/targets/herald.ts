/**
 * Herald as a load target: the built gateway (one node, or several: behind nginx with the shipped
 * infra/nginx/herald.conf, or without a proxy, each stream sent to one of them in turn, as an L4
 * balancer would), a harness-started redis-server, tokens minted with jose, unicast and
 * broadcast published through Redis with @herald/publisher (pipelined).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HeraldPublisher } from '@herald/publisher'
import { freePort, startRedis } from '@herald/redis-harness'
import { SignJWT } from 'jose'
import type { Subscription } from '../client/messages.js'
import { type OwnedProcess, startProcess } from './child-process.js'
import { httpTempPaths, type NginxProcess, nginxPreamble, startNginx } from './nginx.js'
import { heartbeatEnv, nodeDiagnosticFlags, type PublishItem, type Target, type TargetOptions } from './target.js'

const SECRET = 'herald-load-test-secret-at-least-32-bytes'
const API_KEY = 'herald-load-test-publish-key'
const GATEWAY_MAIN = join(dirname(createRequire(import.meta.url).resolve('@herald/gateway')), 'main.js')
const SHIPPED_NGINX = fileURLToPath(new URL('../../../../infra/nginx/herald.conf', import.meta.url))
/** Open files besides streams: Redis connections, the listener, logs, libraries. */
const FILE_HEADROOM = 300
const PROCESS_FILE_LIMIT = 20_000

export async function startHerald(options: TargetOptions, { proxy = true } = {}): Promise<Target> {
  const nodes = options.nodes ?? 1
  /** Streams minted so far: without a proxy, stream i goes to node i mod nodes. */
  let minted = 0
  const redis = await startRedis()
  const gateways: OwnedProcess[] = []
  let nginx: NginxProcess | undefined
  const publisher = new HeraldPublisher({ redis: redis.url })
  const key = new TextEncoder().encode(SECRET)
  const stop = async () => {
    await publisher.close()
    await nginx?.stop()
    await Promise.all(gateways.map((gateway) => gateway.stop()))
    await redis.stop()
  }
  const ports: number[] = []
  try {
    for (let n = 0; n < nodes; n++) {
      const port = await freePort()
      const { process: gateway } = await startProcess(
        process.execPath,
        [...nodeDiagnosticFlags(options), GATEWAY_MAIN],
        {
          env: {
            JWT_SECRET: SECRET,
            PUBLISH_API_KEY: API_KEY,
            HOST: '127.0.0.1',
            PORT: String(port),
            REDIS_URL: redis.url,
            LOG_LEVEL: 'warn',
            // The whole file budget: in a storm, sockets the clients dropped still count until the node sees them close.
            MAX_CONNECTIONS: String(PROCESS_FILE_LIMIT - FILE_HEADROOM),
            MAX_CONNECTIONS_PER_USER: '20',
            // The storm scenarios measure the node, not its admission limiter: let the whole fleet in at once.
            CONNECTION_RATE_PER_SECOND: '20000',
            CONNECTION_RATE_BURST: '20000',
            DRAIN_WINDOW_MS: '0',
            // Several SO_REUSEPORT sockets (Node.js >= 22.12), when the harness is run with it set.
            ...(process.env['LISTEN_SOCKETS'] === undefined ? {} : { LISTEN_SOCKETS: process.env['LISTEN_SOCKETS'] }),
            ...heartbeatEnv('HEARTBEAT_INTERVAL_MS', options),
          },
          // Its logs are off below warnings: it is ready when its port accepts.
          ready: { port },
        },
      )
      gateways.push(gateway)
      ports.push(port)
    }
    if (nodes > 1 && proxy) nginx = await startNginx((port, dir) => heraldNginxConfig(port, dir, ports))
  } catch (error) {
    await stop()
    throw error
  }
  return {
    name: proxy ? 'herald' : 'herald-per-core',
    host: '127.0.0.1',
    port: nginx?.port ?? ports[0]!,
    readyEvent: 'herald.ready',
    groups: [
      { name: 'gateway', pids: () => gateways.map((g) => g.pid) },
      { name: 'redis', pids: () => (redis.pid === undefined ? [] : [redis.pid]) },
      ...(nginx === undefined ? [] : [{ name: 'nginx', pids: () => nginx!.pids() }]),
    ],
    async subscription(user, topic): Promise<Subscription> {
      const token = await new SignJWT({ topics: topic === undefined ? [] : [topic] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setExpirationTime('2h')
        .sign(key)
      return {
        key: topic ?? user,
        path: topic === undefined ? '/v1/events' : `/v1/events?topics=${encodeURIComponent(topic)}`,
        headers: { Authorization: `Bearer ${token}` },
        ...(nginx === undefined && ports.length > 1 ? { port: ports[minted++ % ports.length]! } : {}),
      }
    },
    publish: (items) => publishThroughRedis(publisher, items),
    async v8Memory() {
      const text = await (await fetch(`http://127.0.0.1:${ports[0]}/metrics`)).text()
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
      return {
        heapUsedBytes: gauge('nodejs_heap_size_used_bytes'),
        heapTotalBytes: gauge('nodejs_heap_size_total_bytes'),
        externalBytes: gauge('nodejs_external_memory_bytes'),
      }
    },
    stop,
  }
}

/** The shipped nginx site for Herald, listening on the harness's port, in front of these gateways. */
function heraldNginxConfig(port: number, dir: string, upstreams: readonly number[]): string {
  const site = readFileSync(SHIPPED_NGINX, 'utf8')
    // Plain HTTP on loopback, as the peers are measured: the HTTPS server without TLS, and
    // without the plain-HTTP server that only redirects.
    .replace(/^server \{\n {4}listen 80;[^}]*\}\n/m, '')
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${port} backlog=4096;`)
    .replace(/ssl_certificate\S* [^;]+;/g, '')
    // No access log, as the peers run: the shipped path is the system's (/var/log/nginx), which a
    // benchmark must not write to, and which an nginx not run as root cannot open.
    .replace(/access_log \/var\/log\/nginx\/[^;]+;/, 'access_log off;')
  if (site.includes('/var/log/')) throw new Error(`${SHIPPED_NGINX} logs to a path this harness does not move`)
  return `${nginxPreamble(dir, 19_900)}
http {
  ${httpTempPaths(dir)}
  upstream herald_gateways {
    least_conn;
    zone herald_gateways 64k;
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
    keepalive 16;
  }
${site}
}
`
}

/** The harness's items as an app publishes them: objects, through the SDK's pipelined batches. */
export async function publishThroughRedis(publisher: HeraldPublisher, items: readonly PublishItem[]): Promise<void> {
  await publisher.publishBatch(items.map((item) => ({ target: item.channel, data: JSON.parse(item.data) })))
}
