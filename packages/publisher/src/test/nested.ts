/** Deeply nested data, for the tests of the nesting limit. */

/** `levels` objects or arrays nested in one another, with `leaf` innermost. */
export function nested(levels: number, leaf: unknown = 1): unknown {
  let data = leaf
  for (let level = 0; level < levels; level++) data = level % 2 === 0 ? [data] : { a: data }
  return data
}
