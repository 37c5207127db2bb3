/**
 * Stream time and staleness in the engine's pure core: symbols that fall quiet while
 * others go on being scored are demoted once the stream time is more than
 * lifecycle.stale_after past their last score (dwell included), with a `stale:` cause;
 * the same entries give the same demotions whatever the batch boundaries, and whether or
 * not the staleness index was rebuilt from the snapshots at a boundary (a restart).
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { calendarOf } from "../../src/domain/calendar.ts"
import { openTimeBetween } from "../../src/domain/market-time.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { createLifecycle, type LifecycleState, type PersistedActor } from "../../machines/lifecycle.ts"
import { scoreNames } from "../../machines/rules.ts"
import { decodeActor } from "../../machines/snapshot-codec.ts"
import { processBatch, snapshotArgs } from "../../src/engine/batch.ts"
import { StaleIndex } from "../../src/engine/stale-index.ts"
import { commitClock, deadlineOf, newStreamClock, type StreamClock } from "../../src/engine/stream-clock.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { decodeLifecycleEntry } from "../../streams/lifecycle-wire.ts"
import { decodeScoresEntry } from "../../streams/scores-wire.ts"
import { MIN, T0 } from "../helpers/machine.ts"

const STALE_AFTER = 30 * MIN
/** The rules with stale_after 30m counted in `calendar`'s market time, or in stream time. */
const setup = (calendar: "XNYS" | "none") => {
  const config = loadConfig({ env: {}, overrides: { lifecycle: { stale_after: "30m", calendar } } })
  return { config, rules: rulesFromConfig(config.lifecycle) }
}
const { config, rules } = setup("XNYS")
const cal = calendarOf("XNYS")
/** How much time counts towards stale_after in [from, to): open market, or all of it. */
const quietTime = {
  XNYS: (from: number, to: number) => openTimeBetween(cal, from, to),
  none: (from: number, to: number) => to - from
} as const
const SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
const LIMITS = { maxFields: 32, maxValueLength: 64 }

/** A score biased towards qualifying, so that symbols climb and have something to lose. */
const arbHigh = fc.oneof({ arbitrary: fc.integer({ min: 60, max: 100 }), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 100 }), weight: 1 }).map((n) => n / 100)

/**
 * Entries over six symbols, each silent during its own random stretch of the stream (a
 * quiet period), minutes apart, now and then out of order across symbols or late.
 */
const arbStream = fc.record({
  specs: fc.array(fc.record({
    symbol: fc.nat({ max: SYMBOLS.length - 1 }),
    // Minutes apart, now and then across a night or a weekend (market time stands still).
    gap: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 8 * MIN }), weight: 30 }, { arbitrary: fc.integer({ min: 8 * MIN, max: 3 * 24 * 60 * MIN }), weight: 1 }),
    back: fc.constantFrom(0, 0, 0, 0, 0, 0, 10 * MIN, 45 * MIN),
    liquidity: arbHigh, catalyst: arbHigh, activity: arbHigh,
    partial: fc.boolean()
  }), { minLength: 30, maxLength: 120, size: "max" }),
  quiet: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.7, noNaN: true })), { minLength: SYMBOLS.length, maxLength: SYMBOLS.length })
}).map(({ specs, quiet }) => {
  let at = T0
  const out: StreamEntry[] = []
  specs.forEach((s, i) => {
    at += s.gap
    const [start, length] = quiet[s.symbol] as [number, number]
    const position = i / specs.length
    if (position >= start && position < start + length) return
    const fields = ["symbol", SYMBOLS[s.symbol] as string, "ts", String(at - s.back), "liquidity", String(s.liquidity)]
    if (!s.partial) fields.push("catalyst", String(s.catalyst), "activity", String(s.activity))
    out.push({ id: `${T0 + i}-0`, fields })
  })
  return out
})

const persistedOf = (text: string): PersistedActor => {
  const stored = decodeActor(text)
  if (!stored.ok) throw new Error(`stored snapshot unreadable: ${stored.reason}`)
  return stored.actor
}

/**
 * Entries through processBatch split at the cut points, snapshots persisted and restored
 * across each boundary as the atomic step does; at a boundary marked `restart`, the clock
 * is rebuilt as a restarted engine rebuilds it: the stream time Redis recorded, the index
 * from every persisted actor.
 */
const runSplit = (entries: readonly StreamEntry[], cuts: readonly number[], restarts: readonly boolean[] = [], rules = setup("XNYS").rules) => {
  const lifecycle = createLifecycle(rules)
  const persisted = new Map<string, string>()
  let clock: StreamClock = newStreamClock(lifecycle)
  const out = { lifecycle: [] as string[][], backfill: [] as string[][], stale: 0, streamTime: null as number | null }
  const bounds = [...new Set([0, ...cuts.map((c) => c % (entries.length + 1)), entries.length])].sort((a, b) => a - b)
  for (let i = 0; i + 1 < bounds.length; i++) {
    if (restarts[i]) {
      const rebuilt = newStreamClock(lifecycle)
      rebuilt.streamTime = clock.streamTime
      for (const [symbol, json] of persisted) rebuilt.index?.set(symbol, lifecycle.staleDeadline(persistedOf(json)))
      clock = rebuilt
    }
    const r = processBatch(entries.slice(bounds[i], bounds[i + 1]), {
      lifecycle, scoreNames: scoreNames(rules), retention: config.retention,
      limits: LIMITS, clock,
      snapshotOf: (s) => {
        const json = persisted.get(s)
        return json === undefined ? lifecycle.initial() : persistedOf(json)
      }
    })
    const args = snapshotArgs(r.snapshots)
    for (let j = 0; j < args.length; j += 2) persisted.set(args[j] as string, args[j + 1] as string)
    commitClock(clock, lifecycle, r.streamTime, r.snapshots)
    out.lifecycle.push(...r.lifecycle)
    out.backfill.push(...r.backfill)
    out.stale += r.stale
    out.streamTime = r.streamTime
  }
  return { ...out, snapshots: Object.fromEntries(persisted) }
}

const staleEvents = (lifecycle: readonly string[][]) =>
  lifecycle.map((fields) => decodeLifecycleEntry({ id: "0-1", fields })).flatMap((d) => (d.ok && d.event.cause.startsWith("stale:") ? [d.event] : []))

describe("staleness", () => {
  for (const calendar of ["XNYS", "none"] as const) {
  const { rules } = setup(calendar)
  const counted = calendar === "none" ? "stream time" : `${calendar} market time`

  test.prop([arbStream, fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 13 })], { seed: 20261201, numRuns: 60 })(
    `random quiet periods and batch cuts (and restarts at cuts) give the same demotions (${counted})`,
    (entries, cuts, restarts) => {
      expect(runSplit(entries, cuts, restarts, rules)).toEqual(runSplit(entries, [], [], rules))
    }
  )

  test.prop([arbStream], { seed: 7, numRuns: 60 })(
    `a stale demotion is due, and after every entry no qualified symbol is left past its deadline (${counted})`,
    (entries) => {
      const lifecycle = createLifecycle(rules)
      const held = new Map<string, LifecycleState>()
      const clock = newStreamClock(lifecycle)
      for (const entry of entries) {
        const before = new Map(held)
        const r = processBatch([entry], {
          lifecycle, scoreNames: scoreNames(rules), retention: config.retention,
          limits: LIMITS, clock, snapshotOf: (s) => held.get(s) ?? lifecycle.initial()
        })
        for (const [s, snap] of r.snapshots) held.set(s, snap)
        commitClock(clock, lifecycle, r.streamTime, r.snapshots)
        // The state a stale event meets: after the entry's own score, for the entry's symbol.
        const stateBefore = (symbol: string): LifecycleState | undefined => {
          const previous = before.get(symbol)
          const d = decodeScoresEntry(entry.id, entry.fields, LIMITS)
          if (!d.ok || d.symbol !== symbol) return previous
          return lifecycle.step(previous ?? lifecycle.initial(), { type: "score", at: d.at, cause: entry.id, scores: d.scores }).state
        }
        for (const e of staleEvents(r.lifecycle)) {
          const prior = stateBefore(e.symbol)?.context
          expect(e.cause).toBe(`stale:${entry.id}`)
          expect(e.at).toBe(r.streamTime)
          expect(e.to).toBe(0)
          expect(e.scores).toEqual({})
          // Its last score is more than stale_after older than the stream time, counted in
          // the time that counts; its dwell is served.
          expect(prior?.lastAt).toBeDefined()
          expect(quietTime[calendar](prior!.lastAt!, e.at)).toBeGreaterThan(STALE_AFTER)
          expect(e.at - (prior?.enteredAt ?? Infinity)).toBeGreaterThanOrEqual(rules.minDwellMs)
        }
        for (const [symbol, snap] of held) {
          const deadline = deadlineOf(lifecycle, snap)
          if (deadline !== undefined) expect(deadline, symbol).toBeGreaterThan(r.streamTime ?? -Infinity)
          // None missed: a qualified symbol quiet for longer is past its dwell, or was demoted.
          const { lastAt, enteredAt } = snap.context
          if (snap.layer > 0 && lastAt !== null && r.streamTime !== null && quietTime[calendar](lastAt, r.streamTime) > STALE_AFTER) {
            expect(r.streamTime - (enteredAt ?? -Infinity), symbol).toBeLessThan(rules.minDwellMs)
          }
        }
      }
    }
  )
  }

  it("counts market time: nights and weekends do not make a symbol stale, the minutes it trades do", () => {
    const e = (i: number, symbol: string, at: number, score: number): StreamEntry =>
      ({ id: `${T0 + i}-0`, fields: ["symbol", symbol, "ts", String(at), "liquidity", String(score), "catalyst", String(score), "activity", String(score)] })
    // Friday 2026-01-09: AAA reaches L3 by 15:50 ET (20:50 UTC) and falls quiet; BBB is
    // scored after the weekend. 10 minutes of Friday and 20 of Monday are 30: not yet
    // more than 30; one more minute is.
    const friday = Date.UTC(2026, 0, 9, 20, 30)
    const monday = (hh: number, mm: number) => Date.UTC(2026, 0, 12, hh + 5, mm)
    const entries = [e(0, "AAA", friday, 0.9), e(1, "AAA", friday + 20 * MIN, 0.9), e(2, "BBB", monday(9, 31), 0.1), e(3, "BBB", monday(9, 50), 0.1), e(4, "BBB", monday(9, 51), 0.1)]
    const transitions = (calendar: "XNYS" | "none") => runSplit(entries, [], [], setup(calendar).rules).lifecycle
      .map((fields) => decodeLifecycleEntry({ id: "0-1", fields }))
      .map((d) => (d.ok ? [d.event.symbol, d.event.to, d.event.at, d.event.cause] : d.reason))
    expect(transitions("XNYS")).toEqual([["AAA", 3, friday + 20 * MIN, `${T0 + 1}-0`], ["AAA", 0, monday(9, 51), `stale:${T0 + 4}-0`]])
    // In stream time the weekend alone is far more than 30 minutes.
    expect(transitions("none")).toEqual([["AAA", 3, friday + 20 * MIN, `${T0 + 1}-0`], ["AAA", 0, monday(9, 31), `stale:${T0 + 2}-0`]])
  })

  it("demotes a quiet symbol through the usual rules, with the entry that moved the stream time as its cause", () => {
    const e = (i: number, symbol: string, minutes: number, score: number): StreamEntry =>
      ({ id: `${T0 + i}-0`, fields: ["symbol", symbol, "ts", String(T0 + minutes * MIN), "liquidity", String(score), "catalyst", String(score), "activity", String(score)] })
    // AAA climbs to L3 and falls quiet at minute 1; BBB goes on being scored.
    const entries = [e(0, "AAA", 0, 0.9), e(1, "AAA", 1, 0.9), e(2, "BBB", 10, 0.1), e(3, "BBB", 31, 0.1), e(4, "BBB", 32, 0.1), e(5, "BBB", 40, 0.1)]
    const r = runSplit(entries, [])
    const events = r.lifecycle.map((fields) => decodeLifecycleEntry({ id: "0-1", fields }))
    expect(events.map((d) => (d.ok ? [d.event.type, d.event.symbol, d.event.from, d.event.to, d.event.at, d.event.cause] : d.reason))).toEqual([
      ["SymbolQualified", "AAA", 0, 3, T0 + MIN, `${T0 + 1}-0`],
      // 31 min after its last score is not yet more than 30 min; 32 min is.
      ["SymbolDisqualified", "AAA", 3, 0, T0 + 32 * MIN, `stale:${T0 + 4}-0`]
    ])
    expect(r.stale).toBe(1)
    expect(r.streamTime).toBe(T0 + 40 * MIN)
    // No scores any more: the actor knows none.
    expect(persistedOf(r.snapshots["AAA"] as string).context).toMatchObject({ scores: {}, streak: [], lastAt: T0 + 32 * MIN })
  })

  it("waits for min_dwell when stale_after is shorter, and does nothing when it is off", () => {
    const e = (i: number, symbol: string, minutes: number, score: number): StreamEntry =>
      ({ id: `${T0 + i}-0`, fields: ["symbol", symbol, "ts", String(T0 + minutes * MIN), "liquidity", String(score)] })
    const entries = [e(0, "AAA", 0, 0.9), e(1, "AAA", 1, 0.9), e(2, "BBB", 5, 0.1), e(3, "BBB", 15, 0.1), e(4, "BBB", 16, 0.1)]
    const run = (staleAfter: string) => {
      const c = loadConfig({ env: {}, overrides: { lifecycle: { stale_after: staleAfter } } })
      const lifecycle = createLifecycle(rulesFromConfig(c.lifecycle))
      const ctx = { lifecycle, scoreNames: ["liquidity"], retention: c.retention, limits: { maxFields: 32, maxValueLength: 64 }, clock: newStreamClock(lifecycle), snapshotOf: () => lifecycle.initial() }
      return processBatch(entries, ctx).transitions.map((t) => [t.symbol, t.from, t.to, t.at, t.cause])
    }
    // Stale after 2 min, but AAA entered L1 at minute 1 and min_dwell is 15 min: demoted at minute 16.
    expect(run("2m")).toEqual([["AAA", 0, 1, T0 + MIN, `${T0 + 1}-0`], ["AAA", 1, 0, T0 + 16 * MIN, `stale:${T0 + 4}-0`]])
    expect(run("off")).toEqual([["AAA", 0, 1, T0 + MIN, `${T0 + 1}-0`]])
  })

  it("forgets a symbol's scores and streak when its own next score comes after a quiet period", () => {
    const lifecycle = createLifecycle(rules)
    let s = lifecycle.initial()
    // One qualifying score (a streak of 1 of 2), then the next one 31 minutes later.
    s = lifecycle.step(s, { type: "score", at: T0, cause: "1-0", scores: { liquidity: 0.9, catalyst: 0.9 } }).state
    s = lifecycle.step(s, { type: "score", at: T0 + 31 * MIN, cause: "2-0", scores: { liquidity: 0.9 } }).state
    expect(s.layer).toBe(0)
    expect(s.context.scores).toEqual({ liquidity: 0.9 })
    expect(s.context.streak).toEqual([1])
  })

  it("keeps them across a weekend shorter than stale_after in market time, forgets them in stream time", () => {
    // A qualifying score on Friday at 15:59 ET, the next one on Monday at 09:31 ET: two
    // minutes of trading apart, two days and more of stream time.
    const friday = Date.UTC(2026, 0, 9, 20, 59)
    const monday = Date.UTC(2026, 0, 12, 14, 31)
    const layerAfter = (calendar: "XNYS" | "none") => {
      const lifecycle = createLifecycle(setup(calendar).rules)
      let s = lifecycle.step(lifecycle.initial(), { type: "score", at: friday, cause: "1-0", scores: { liquidity: 0.9 } }).state
      s = lifecycle.step(s, { type: "score", at: monday, cause: "2-0", scores: { liquidity: 0.9 } }).state
      return s.layer
    }
    // Two confirmations: promoted when the streak survives the weekend.
    expect(layerAfter("XNYS")).toBe(1)
    expect(layerAfter("none")).toBe(0)
  })
})

describe("the staleness index", () => {
  // Up to 3,000 changes: superseded entries pile up past the compaction threshold.
  test.prop([fc.array(fc.tuple(fc.constantFrom("A", "B", "C", "D", "E", "F", "G"), fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined })), { maxLength: 3_000, size: "max" }), fc.integer({ min: 0, max: 20 })], { seed: 5, numRuns: 60 })(
    "holds one deadline per symbol and gives the due ones in (deadline, symbol) order",
    (ops, upTo) => {
      const index = new StaleIndex()
      const model = new Map<string, number>()
      for (const [i, [symbol, deadline]] of ops.entries()) {
        index.set(symbol, deadline)
        if (deadline === undefined) model.delete(symbol)
        else model.set(symbol, deadline)
        // Now and then take the smallest off, as an expiry does.
        if (i % 97 === 96) {
          const top = [...model].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0]
          expect(index.pop()).toEqual(top && { symbol: top[0], deadline: top[1] })
          if (top) model.delete(top[0])
        }
      }
      const sorted = [...model].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
      expect(index.size).toBe(model.size)
      expect(index.dueUpTo(upTo)).toEqual(sorted.filter(([, d]) => d <= upTo))
      const popped: [string, number][] = []
      for (let top = index.pop(); top !== undefined; top = index.pop()) popped.push([top.symbol, top.deadline])
      expect(popped).toEqual(sorted)
    }
  )
})
