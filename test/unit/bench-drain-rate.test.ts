/**
 * A drain's rate from its two readings (bench/lib/fill.ts): events over the time between
 * the first reading that saw progress and the one that saw it done, and a drain that
 * finished between two readings counts as one reading interval, never as infinite.
 */
import { describe, expect, it } from "vitest"
import { drainRateOf, PROGRESS_EVERY_MS } from "../../bench/lib/fill.ts"

describe("drain rate", () => {
  it("is events over the time from the first progress to done", () => {
    expect(drainRateOf(300_000, { first: 1_000, done: 7_000 })).toBe(50_000)
  })

  it("is finite when the whole drain fell between two readings", () => {
    expect(drainRateOf(2_000, { first: 5_000, done: 5_000 })).toBe(2_000 / (PROGRESS_EVERY_MS / 1000))
    expect(drainRateOf(2_000, { first: 5_000, done: 5_003 }, 5)).toBe(400_000)
  })
})
