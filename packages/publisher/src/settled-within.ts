/**
 * A bound on waiting for Redis: Redis that is stopped or wedged keeps its socket open, so
 * an answer may never come, and ioredis has no limit of its own on most waits.
 */

/** The promise's outcome if it settles within `ms`, else `undefined` (the promise itself runs on). */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}
