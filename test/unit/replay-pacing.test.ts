/**
 * Event-time pacing with a simulated clock: due times, speeds, late entries, and a dry-run
 * replay at 1x / 10x that sleeps exactly the recorded event-time gaps scaled by the speed.
 */
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { dryRunReplay } from "../../src/replay/dry-run.ts"
import { dueAt, Pacer, pacingTime, parseSpeed, type Clock } from "../../src/replay/pacing.ts"

/** A clock that only moves when someone sleeps on it. */
const simulatedClock = () => {
  let now = 1_000
  const sleeps: number[] = []
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms)
      now += ms
    }
  }
  return { clock, sleeps, advance: (ms: number) => { now += ms } }
}

describe("parseSpeed", () => {
  it("reads 1x, 10x, fractional and bare factors, and max", () => {
    expect(parseSpeed("1x")).toEqual({ kind: "factor", factor: 1 })
    expect(parseSpeed("10x")).toEqual({ kind: "factor", factor: 10 })
    expect(parseSpeed("0.5x")).toEqual({ kind: "factor", factor: 0.5 })
    expect(parseSpeed("3")).toEqual({ kind: "factor", factor: 3 })
    expect(parseSpeed("MAX")).toEqual({ kind: "max" })
  })
  it("rejects nonsense naming the flag", () => {
    for (const bad of ["", "0x", "-1x", "fast", "x10"]) expect(() => parseSpeed(bad)).toThrow(/--speed/)
  })
})

describe("dueAt", () => {
  const anchor = { wall: 500, event: 10_000 }
  it("scales event-time distance by the speed", () => {
    expect(dueAt(anchor, 10_000, 1)).toBe(500)
    expect(dueAt(anchor, 12_000, 1)).toBe(2_500)
    expect(dueAt(anchor, 12_000, 10)).toBe(700)
  })
  it("never schedules before the anchor", () => {
    expect(dueAt(anchor, 9_000, 1)).toBe(500)
  })
})

describe("Pacer", () => {
  it("releases the first entry at once and later ones at their scaled event time", () => {
    const { clock, advance } = simulatedClock()
    const p = new Pacer({ kind: "factor", factor: 2 }, clock)
    expect(p.delay(100_000)).toBe(0)
    expect(p.delay(104_000)).toBe(2_000)
    advance(1_500)
    expect(p.delay(104_000)).toBe(500)
    advance(5_000)
    expect(p.delay(105_000)).toBe(0)
  })
  it("releases a late entry at once and does not let it pull the schedule back", () => {
    const { clock } = simulatedClock()
    const p = new Pacer({ kind: "factor", factor: 1 }, clock)
    p.delay(50_000)
    expect(p.delay(60_000)).toBe(10_000)
    expect(p.delay(40_000)).toBe(10_000)
  })
  it("never waits at max speed", () => {
    const { clock } = simulatedClock()
    const p = new Pacer({ kind: "max" }, clock)
    expect([p.delay(0), p.delay(1e9), p.delay(5)]).toEqual([0, 0, 0])
  })
})

describe("pacingTime", () => {
  it("uses a valid ts field, else the entry ID's milliseconds", () => {
    expect(pacingTime("1700000000000-0", ["symbol", "A", "ts", "1700000005000"])).toBe(1700000005000)
    expect(pacingTime("1700000000000-0", ["symbol", "A", "ts", "2024-01-01T00:00:00Z"])).toBe(Date.UTC(2024, 0, 1))
    expect(pacingTime("1700000000000-3", ["symbol", "A", "ts", "garbage"])).toBe(1700000000000)
    expect(pacingTime("1700000000000-3", ["symbol", "A"])).toBe(1700000000000)
  })
})

describe("paced dry-run replay", () => {
  const config = loadConfig({ env: {} })
  const T0 = Date.UTC(2026, 0, 5, 14, 30)
  const entries = [0, 1_000, 1_000, 4_000, 10_000].map((dt, i) => ({
    id: `${T0 + i}-0`, fields: ["symbol", "AAPL", "ts", String(T0 + dt), "liquidity", "0.9"]
  }))

  it.each([[1], [10]])("at %ix sleeps the event-time gaps divided by the speed", async (factor) => {
    const { clock, sleeps } = simulatedClock()
    const run = await dryRunReplay(entries, config, { speed: { kind: "factor", factor }, clock })
    expect(sleeps).toEqual([1_000, 3_000, 6_000].map((ms) => ms / factor))
    expect(run.counts.events).toBe(5)
  })
})
