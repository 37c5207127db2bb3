/**
 * The bench's open-loop schedule and its coordinated-omission correction, with simulated
 * time: a stalled sender catches up in one batch stamped with the intended times, and a
 * single stall shows in the corrected percentiles (as HdrHistogram's own correction says)
 * while the raw ones hide it.
 */
import { describe, expect, it } from "vitest"
import { correctedCopy, LatencyRecorder, reportable, samplesFor, statsOf, toMicros } from "../../bench/lib/histogram.ts"
import { measureLatency } from "../../bench/lib/measure-latency.ts"
import { dueBy, intendedAt, runOpenLoop, type DueEvent, type OpenLoopClock } from "../../bench/lib/open-loop.ts"

describe("open-loop schedule", () => {
  const s = { start: 1_000, rate: 2_000, total: 10 }
  it("spaces events at 1/rate from the start", () => {
    expect([0, 1, 9].map((i) => intendedAt(s, i))).toEqual([1_000, 1_000.5, 1_004.5])
  })
  it("counts the events due by a time, capped at the total", () => {
    expect(dueBy(s, 999)).toBe(0)
    expect(dueBy(s, 1_000)).toBe(1)
    expect(dueBy(s, 1_001.2)).toBe(3)
    expect(dueBy(s, 5_000)).toBe(10)
  })

  it("keeps the schedule through a stall: the late events go out at once, stamped with their intended times", async () => {
    let now = 0
    let stalled = false
    const clock: OpenLoopClock = {
      now: () => now,
      sleep: async (ms) => {
        // One 5 ms stall of the sender after the third tick.
        now += ms > 0 ? ms : 0.01
        if (!stalled && now >= 2) { stalled = true; now += 5 }
      }
    }
    const ticks: { events: readonly DueEvent[]; sentAt: number }[] = []
    await runOpenLoop({ start: 0, rate: 1_000, total: 12 }, (events, sentAt) => { ticks.push({ events, sentAt }) }, clock)
    const all = ticks.flatMap((t) => t.events)
    expect(all.map((e) => e.seq)).toEqual([...Array(12).keys()])
    expect(all.map((e) => e.intended)).toEqual([...Array(12).keys()])
    const catchUp = ticks.find((t) => t.events.length > 1)
    expect(catchUp?.sentAt).toBeGreaterThanOrEqual(7)
    expect(catchUp?.events.map((e) => e.intended)).toEqual([2, 3, 4, 5, 6, 7])
  })
})

describe("coordinated-omission correction", () => {
  // 1,000 events intended 1 ms apart; a closed-loop sender waits for each reply. Service
  // takes 0.5 ms, except one 100 ms stall at event 500.
  const simulate = () => {
    const rec = new LatencyRecorder()
    let lastSeen = 0
    for (let i = 0; i < 1_000; i++) {
      const intended = i
      const sent = Math.max(intended, lastSeen)
      const seen = sent + (i === 500 ? 100 : 0.5)
      rec.record(intended, sent, seen)
      lastSeen = seen
    }
    return rec
  }

  it("raw percentiles hide the stall; corrected ones show the queue it built", () => {
    const rec = simulate()
    const { raw, corrected } = rec.summary()
    expect(raw.count).toBe(1_000)
    expect(raw.p99).toBeLessThanOrEqual(0.501)
    expect(raw.max).toBeCloseTo(100, 0)
    expect(corrected.p99).toBeGreaterThan(80)
    expect(corrected.max).toBeCloseTo(100, 0)
    rec.destroy()
  })

  it("agrees with HdrHistogram's own correction of the raw histogram", () => {
    const rec = simulate()
    const hdr = correctedCopy(rec.raw, 1)
    const ours = statsOf(rec.corrected)
    const theirs = statsOf(hdr)
    // HdrHistogram back-fills 99, 98, … 1 ms behind the 100 ms sample.
    expect(theirs.count).toBe(1_000 + 99)
    expect(Math.abs(ours.p99 - theirs.p99) / theirs.p99).toBeLessThan(0.1)
    expect(ours.max).toBeCloseTo(theirs.max, 0)
    hdr.destroy()
    rec.destroy()
  })

  it("records whole microseconds, never zero", () => {
    expect([toMicros(0), toMicros(0.0004), toMicros(1.2345)]).toEqual([1, 1, 1235])
  })
})

describe("lost outputs", () => {
  it("are counted and recorded at the drain deadline, above every output that came", async () => {
    const drainMs = 300
    const result = await measureLatency(async (onSeen) => ({
      name: "one in ten never answers",
      emits: () => true,
      send: async (events) => {
        const at = performance.now()
        for (const e of events) if (e.seq % 10 !== 0) onSeen(e.seq, at)
      },
      stop: async () => {}
    }), { rate: 1_000, durationMs: 200, warmupMs: 0, drainMs })
    expect(result.sent).toBe(200)
    expect(result.measured).toBe(180)
    expect(result.lost).toBe(20)
    // Lost outputs are in the percentiles: with 10 % lost, the p99 is one of them.
    expect(result.corrected.count).toBe(200)
    expect(result.corrected.p99).toBeGreaterThanOrEqual(drainMs)
  })

  it("only owed outputs are measured; others are counted apart", async () => {
    const result = await measureLatency(async (onSeen) => ({
      name: "answers everything, owes half",
      emits: (seq) => seq % 2 === 0,
      send: async (events) => {
        const at = performance.now()
        for (const e of events) onSeen(e.seq, at)
      },
      stop: async () => {}
    }), { rate: 1_000, durationMs: 100, warmupMs: 0, drainMs: 100 })
    expect([result.measured, result.unowed, result.lost, result.corrected.count]).toEqual([50, 50, 0, 50])
  })
})

describe("reportable percentiles", () => {
  it("need at least 100 samples above them", () => {
    expect(samplesFor(99)).toBe(10_000)
    expect(samplesFor(99.9)).toBe(100_000)
    expect(reportable(9_999, 99)).toBe(false)
    expect(reportable(10_000, 99)).toBe(true)
    expect(reportable(99_999, 99.9)).toBe(false)
  })
})
