/**
 * The clock for the node's own intervals (probe arrivals, suspensions, held channels, log
 * windows): monotonic, so a step of the wall clock (an NTP correction, a resumed VM) is no
 * silence and no stall. With Date.now(), a forward step of 20 s made every Pub/Sub probe overdue,
 * and the node unready, shedding every new stream as broker_unavailable until the next probe
 * came (2-5 s; found by a probe); a backward step held log lines back for its length.
 * Whole milliseconds on Date.now()'s scale: probe messages carry it as an integer.
 */
export function monotonicMs(): number {
  return Math.floor(performance.timeOrigin + performance.now())
}
