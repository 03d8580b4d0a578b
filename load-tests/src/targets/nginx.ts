/**
 * nginx processes for the peers (Nchan) and the multi-node scenario: a config rendered into its
 * own temp dir, the master in the foreground, and the workers found as its children.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, trackDir, untrackDir } from '@herald/redis-harness'
import { withChildren } from '../harness/proc-sampler.js'
import { startProcess } from './child-process.js'

export interface NginxProcess {
  readonly port: number
  /** The master and its workers, read afresh each call. */
  pids(): number[]
  stop(): Promise<void>
}

/** Runs `render(port, dir)` as nginx.conf; it should listen on 127.0.0.1:port and keep its files in dir. */
export async function startNginx(render: (port: number, dir: string) => string): Promise<NginxProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-load-nginx-'))
  // Removed however the harness ends, as its nginx is killed.
  trackDir(dir)
  const removeDir = async () => {
    await rm(dir, { recursive: true, force: true })
    untrackDir(dir)
  }
  const port = await freePort()
  await writeFile(join(dir, 'nginx.conf'), render(port, dir))
  const started = await startProcess(
    'nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    { ready: { port } },
  ).catch(async (error: unknown) => {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
    await removeDir()
    throw new Error(`${(error as Error).message} ${log}`.trim())
  })
  const nginx = started.process
  const stop = async () => {
    await nginx.stop()
    await removeDir()
  }
  return { port, pids: () => withChildren(nginx.pid), stop }
}

/** The directives every harness nginx.conf shares: foreground, one worker unless asked, its files in `dir`. */
export function nginxPreamble(dir: string, workerConnections: number, workers = 1): string {
  return `daemon off;
worker_processes ${workers};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; multi_accept on; }
`
}

export function httpTempPaths(dir: string): string {
  return `access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`
}
