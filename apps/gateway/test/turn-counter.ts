/**
 * Which turn of the event loop it is, for tests of work spread over turns: a counter that a
 * chain of setImmediate moves on, once per turn, until stopped.
 */
export interface TurnCounter {
  readonly now: () => number
  readonly stop: () => void
}

export function turnCounter(): TurnCounter {
  let turn = 0
  let ticking = true
  const tick = () => {
    turn++
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  return {
    now: () => turn,
    stop: () => {
      ticking = false
    },
  }
}
