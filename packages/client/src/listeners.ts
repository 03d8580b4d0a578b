/**
 * A set of callbacks, each removable by the function `add` returns. A
 * throwing handler is reported and does not stop the others.
 */

export class Listeners<T> {
  readonly #set = new Set<(value: T) => void>()

  add(listener: (value: T) => void): () => void {
    this.#set.add(listener)
    return () => this.#set.delete(listener)
  }

  emit(value: T): void {
    for (const listener of this.#set) {
      try {
        listener(value)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
