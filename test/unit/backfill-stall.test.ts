/**
 * The stall bound of a command's work (src/backfill/stall.ts), on a hand-moved clock: a
 * step that settles (success or failure) is progress; a step that never settles makes the
 * watchdog fail with `WorkStalled` naming it, once the bound has passed and not before;
 * the worker settles a stall by giving the command up for a reclaim. No I/O.
 */
import { Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkEveryMs, newStallClock, stalledFor, tracked, watchdog, WorkStalled } from "../../src/backfill/stall.ts"
import { settlement } from "../../src/backfill/worker.ts"

const manualClock = (start = 1_000) => {
  let t = start
  return { now: () => t, advance: (ms: number) => { t += ms } }
}

describe("stalledFor", () => {
  it("reports the idle time exactly when it has reached the bound", () => {
    fc.assert(fc.property(fc.nat(1e9), fc.nat(1e7), fc.integer({ min: 1, max: 1e7 }), (last, idle, bound) => {
      const got = stalledFor({ lastProgressMs: last, step: "s" }, last + idle, bound)
      expect(got).toBe(idle >= bound ? idle : undefined)
    }))
  })

  it("looks often enough to give up within a quarter of the bound, at most once a second", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e8 }), (bound) => {
      const every = checkEveryMs(bound)
      expect(every).toBeGreaterThanOrEqual(10)
      expect(every).toBeLessThanOrEqual(1000)
      if (bound >= 40) expect(every).toBeLessThanOrEqual(bound / 4)
    }))
  })
})

describe("tracked steps", () => {
  it("counts a step's end as progress, failed or not, and remembers the step begun last", async () => {
    const clock = manualClock()
    const started = newStallClock(clock.now)
    clock.advance(500)
    await Effect.runPromise(tracked(started.clock, "read coverage", Effect.void))
    expect(started.state).toEqual({ lastProgressMs: 1_500, step: "read coverage" })
    clock.advance(700)
    const failed = await Effect.runPromise(Effect.exit(tracked(started.clock, "write rows", Effect.fail("boom"))))
    expect(Exit.isFailure(failed)).toBe(true)
    expect(started.state).toEqual({ lastProgressMs: 2_200, step: "write rows" })
  })

  it("leaves a step that never settles without progress, and the watchdog names it past the bound", async () => {
    const clock = manualClock()
    const started = newStallClock(clock.now)
    const BOUND = 40
    const work = tracked(started.clock, "record the plan", Effect.never)
    const race = Effect.runFork(Effect.raceFirst(work, watchdog(started, BOUND)))
    // Under the bound on the work's clock: the watchdog keeps looking and does not fire.
    clock.advance(BOUND - 1)
    await Effect.runPromise(Effect.sleep(`${3 * checkEveryMs(BOUND)} millis`))
    expect(race.pollUnsafe()).toBeUndefined()
    clock.advance(1)
    const exit = await Effect.runPromise(Fiber.await(race))
    expect(Exit.isFailure(exit)).toBe(true)
    const err = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
    expect(err).toBeInstanceOf(WorkStalled)
    expect(err).toMatchObject({ step: "record the plan", idleMs: BOUND })
    expect((err as WorkStalled).message).toContain("stall_ms 40")
  })
})

describe("the worker's settlement of a stalled command", () => {
  it("gives it up for a reclaim, neither dead-lettered nor left as if it had failed", () => {
    const e = new WorkStalled({ step: "write rows", idleMs: 120_000, message: "no progress for 120000 ms" })
    expect(settlement(e)).toEqual({ kind: "give-up-stalled", error: "WorkStalled: no progress for 120000 ms" })
  })
})
