/**
 * What the Herald clients of one page keep together, whichever bundle each came from (an app's
 * own, the bell's): kept on globalThis under a registered symbol, per page. A page is its
 * document, which a client notes as it is made; where there is none (a worker, Node), the global.
 */

export type Page = object

/** The page a client made now belongs to. */
export function currentPage(): Page {
  return (globalThis as { document?: object }).document ?? globalThis
}

/** The page's `name` record, made by `create` the first time any client asks for it. */
export function pageRecord<T>(name: string, page: Page, create: () => T): T {
  const key = Symbol.for(`herald.client.${name}`)
  const global = globalThis as { [key: symbol]: WeakMap<Page, T> | undefined }
  global[key] ??= new WeakMap()
  let record = global[key].get(page)
  if (record === undefined) {
    record = create()
    global[key].set(page, record)
  }
  return record
}
