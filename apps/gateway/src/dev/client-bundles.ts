/**
 * The browser bundles of @herald/client, served beside the demo page in
 * `--dev` so the demo uses the SDK exactly as an app would. Resolved through
 * the package's `exports` map (never a path into it) and read once at startup.
 */

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

/** URL path → JavaScript source. */
export function loadClientBundles(): ReadonlyMap<string, string> {
  const { resolve } = createRequire(import.meta.url)
  const read = (specifier: string) => readFileSync(resolve(specifier), 'utf8')
  return new Map([
    ['/demo/herald-client.js', read('@herald/client')],
    ['/demo/herald-bell.js', read('@herald/client/bell')],
  ])
}
