import { describe, expect, it } from 'vitest'
import { cpuBetween, type Snapshot } from './proc-sampler.js'

/** A snapshot of one group, `gateway`, from each process's CPU seconds. */
function gatewayAt(perProcess: Record<number, number>): Snapshot {
  const processes = new Map(
    Object.entries(perProcess).map(([pid, cpu]) => [Number(pid), { cpuSeconds: cpu, kernelSeconds: cpu / 2 }]),
  )
  const total = Object.values(perProcess).reduce((sum, cpu) => sum + cpu, 0)
  return { gateway: { cpuSeconds: total, kernelSeconds: total / 2, rssBytes: 0, perProcess: processes } }
}

describe('cpuBetween', () => {
  it('counts what each process spent within the window', () => {
    expect(cpuBetween(gatewayAt({ 10: 5, 11: 1 }), gatewayAt({ 10: 7, 11: 1.5 }))).toEqual({ gateway: 2.5 })
    expect(cpuBetween(gatewayAt({ 10: 5 }), gatewayAt({ 10: 7 }), 'kernelSeconds')).toEqual({ gateway: 1 })
  })

  it('never goes negative when a process exits within the window, and counts one that started in it', () => {
    // The gateway (pid 10, 30 s of CPU in its life) was killed: its lifetime must not come off.
    expect(cpuBetween(gatewayAt({ 10: 30, 11: 1 }), gatewayAt({ 11: 1.5 }))).toEqual({ gateway: 0.5 })
    // Restarted as pid 12 within the window: all it spent is the window's.
    expect(cpuBetween(gatewayAt({ 10: 30 }), gatewayAt({ 12: 0.25 }))).toEqual({ gateway: 0.25 })
  })
})
