/**
 * The packages are not on the npm registry, so the README has apps install them from the
 * tarballs `pnpm pack` makes. This packs @herald/protocol, @herald/publisher and
 * @herald/client as a user would, installs them into an empty app with pnpm the way the README
 * says, type-checks the README's client example against what was installed, and runs its
 * publisher example against a real Redis. Why: a tarball names its workspace dependencies by
 * version, and the client's types named a package it had only as a dev dependency, so an app
 * could not install the one or type-check the other (found by following the README). pnpm,
 * not npm: its node_modules hold only what a package declares, so an undeclared one shows.
 */
import { type ExecFileOptions, execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type RedisServer, startRedis } from '@herald/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const execFileAsync = promisify(execFile)

/** execFile, failing with the child's stderr: pnpm says why an install failed (a registry's TLS) only there. */
async function run(
  file: string,
  args: readonly string[],
  options: ExecFileOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { ...options, encoding: 'utf8' })
    return { stdout, stderr }
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: unknown; stdout?: unknown }
    throw Object.assign(new Error(`${(error as Error).message}\n${String(stderr ?? '').slice(-4000)}`), {
      stdout,
      stderr,
    })
  }
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const PACKED = ['protocol', 'publisher', 'client'] as const

/** The fenced code block of the README that contains `marker`, without its list indent. */
function readmeExample(readme: string, marker: string): string {
  const blocks = [...readme.matchAll(/^( *)```(?:ts|js)\n([\s\S]*?)^\1```$/gm)]
  const block = blocks.find((match) => match[2]?.includes(marker))
  if (block === undefined) throw new Error(`README has no ts or js example with ${marker}`)
  const indent = block[1] ?? ''
  return (block[2] ?? '').replace(new RegExp(`^${indent}`, 'gm'), '')
}

/**
 * What tsc says of `files` in `app` under `compilerOptions`: '' when they check. No skipLibCheck:
 * the packages' own .d.ts files have to resolve from the app.
 */
async function typeErrors(app: string, config: string, compilerOptions: object, files: string[]): Promise<string> {
  writeFileSync(join(app, config), JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, files }))
  const result = await run(process.execPath, [TSC, '-p', join(app, config)], { cwd: app }).catch(
    (error: { stdout?: string }) => ({ stdout: `tsc failed:\n${error.stdout ?? String(error)}` }),
  )
  return result.stdout
}

/** An empty app with `tarball` added as the README says, @herald/protocol overridden with its own. */
async function appWith(vendor: string, protocol: string, tarball: string): Promise<string> {
  const app = mkdtempSync(join(vendor, 'app-'))
  // The packages depend on @herald/protocol 0.1.0, which the registry does not have.
  const overrides = { '@herald/protocol': `file:${join(vendor, protocol)}` }
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', pnpm: { overrides } }),
  )
  await run('pnpm', ['add', join(vendor, tarball)], { cwd: app, timeout: 180_000 })
  return app
}

describe('the packages as an app installs them from their tarballs', () => {
  let vendor: string
  let clientApp: string
  let publisherApp: string
  let redis: RedisServer
  const tarballs: string[] = []

  beforeAll(async () => {
    vendor = mkdtempSync(join(tmpdir(), 'herald-packed-'))
    redis = await startRedis()
    for (const name of PACKED) {
      const { stdout } = await run('pnpm', ['pack', '--pack-destination', vendor], {
        cwd: join(ROOT, 'packages', name),
      })
      tarballs.push(basename(stdout.trim().split('\n').at(-1) ?? ''))
    }
    const [protocol = '', publisher = '', client = ''] = tarballs
    // Each in an app of its own: pnpm lets a package reach what any package in the same
    // node_modules depends on, which would hide a dependency the client does not declare.
    ;[publisherApp, clientApp] = await Promise.all([
      appWith(vendor, protocol, publisher),
      appWith(vendor, protocol, client),
    ])
    // Node's own types, for type-checking the publisher example as a TypeScript app would.
    await run('pnpm', ['add', '-D', '@types/node@^20.19.0'], { cwd: publisherApp, timeout: 180_000 })
  }, 240_000)

  afterAll(async () => {
    await redis?.stop()
    if (vendor !== undefined) rmSync(vendor, { recursive: true, force: true })
  })

  it('ship no build leftovers: no .tsbuildinfo, no source maps whose sources are not shipped', async () => {
    for (const tarball of tarballs) {
      const { stdout } = await run('tar', ['tzf', join(vendor, tarball)])
      const files = stdout.trim().split('\n')
      expect(files).toContain('package/dist/index.d.ts')
      expect(files.filter((file) => /\.tsbuildinfo$|\.map$/.test(file))).toEqual([])
    }
  })

  it("type-checks the README's client example against the installed package", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const app = clientApp
    writeFileSync(
      join(app, 'client-example.ts'),
      `declare function showToast(text: string): void\ndeclare function refetchNotifications(): void\n${readmeExample(readme, 'new HeraldClient')}`,
    )
    const options = { strict: true, module: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'] }
    expect(await typeErrors(app, 'tsconfig.json', options, ['client-example.ts'])).toBe('')
  }, 60_000)

  it('resolves the client types under moduleResolution node10, the default of a CommonJS project', async () => {
    writeFileSync(
      join(clientApp, 'node10.ts'),
      "import type { HeraldClient, HeraldReset } from '@herald/client'\nimport type { HeraldBellElement } from '@herald/client/bell'\nexport type Used = [HeraldClient, HeraldBellElement, HeraldReset['reason']]\n",
    )
    const options = {
      strict: true,
      module: 'commonjs',
      moduleResolution: 'node10',
      target: 'es2022',
      lib: ['es2022', 'dom'],
    }
    expect(await typeErrors(clientApp, 'tsconfig.node10.json', options, ['node10.ts'])).toBe('')
  }, 60_000)

  it('loads @herald/client/bell where there is no DOM (a server render) without registering anything', async () => {
    const script = `const bell = await import('@herald/client/bell')
      console.log(typeof bell.HeraldBellElement, typeof bell.HeraldClient, typeof customElements)`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: clientApp })
    expect(stdout.trim()).toBe('function function undefined')
  })

  it("type-checks the README's publisher example as TypeScript, without skipLibCheck", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    writeFileSync(join(publisherApp, 'publisher-example.ts'), readmeExample(readme, 'new HeraldPublisher'))
    // ioredis's own declarations import redis-errors, which has no types of its own.
    const options = { strict: true, module: 'nodenext', target: 'es2022', types: ['node'] }
    expect(await typeErrors(publisherApp, 'tsconfig.json', options, ['publisher-example.ts'])).toBe('')
  }, 60_000)

  it("runs the README's publisher example against a real Redis", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    writeFileSync(join(publisherApp, 'publisher-example.mjs'), readmeExample(readme, 'new HeraldPublisher'))
    await run(process.execPath, [join(publisherApp, 'publisher-example.mjs')], {
      cwd: publisherApp,
      env: { ...process.env, REDIS_URL: redis.url },
      timeout: 30_000,
    })
    expect(await redis.cli('XLEN', 'herald:{u:alice}:s')).toBe('1')
    expect(await redis.cli('XLEN', 'herald:{t:news}:s')).toBe('1')
  })

  it('runs the herald CLI from the installed publisher', async () => {
    const herald = join(publisherApp, 'node_modules', '.bin', 'herald')
    const { stdout } = await run(herald, ['publish', '--help'], { cwd: publisherApp })
    expect(stdout).toContain('herald publish')
    expect((await run(herald, ['--version'], { cwd: publisherApp })).stdout).toMatch(
      /^herald 0\.1\.0 \(Redis functions v\d+\)\n$/,
    )
  })

  it('exports the public API at the root and the shared parts at /internal, and nothing deeper', async () => {
    const script = `const root = await import('@herald/publisher')
      const internal = await import('@herald/publisher/internal')
      const deep = await import('@herald/publisher/dist/keys.js').then(() => 'loaded', (error) => error.code)
      console.log(typeof root.HeraldPublisher, typeof root.streamKey, typeof internal.streamKey, deep)`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: publisherApp })
    expect(stdout.trim()).toBe('function undefined function ERR_PACKAGE_PATH_NOT_EXPORTED')
  })
})
