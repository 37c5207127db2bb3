/**
 * One latency measurement: drive a target with the open-loop schedule at a fixed rate for
 * a fixed time, record every output's latency (raw and corrected) after a warm-up, and
 * wait for the stragglers. An output not seen when the drain time is up is lost: it is
 * recorded at the moment the wait gave up (so it sits above every output that was seen,
 * and a run that loses more than 1 % has a p99 of at least the drain time) and counted.
 * Also reports the rate outputs came out at against the rate they were owed, so a target
 * that cannot keep up (its latency is then queueing, growing with the run) says so.
 */
import { LatencyRecorder, type LatencyStats } from "./histogram.ts"
import type { LatencyTarget, OnSeen } from "./latency-targets.ts"
import { runOpenLoop } from "./open-loop.ts"

export interface LatencyResult {
  readonly target: string
  readonly rate: number
  readonly sent: number
  /** Outputs owed after the warm-up and seen in time. */
  readonly measured: number
  /** Outputs owed after the warm-up and never seen; included in the percentiles at the drain deadline. */
  readonly lost: number
  readonly raw: LatencyStats
  readonly corrected: LatencyStats
  /** Outputs seen for events that owed none (not in the percentiles). */
  readonly unowed: number
  /** Outputs per second owed by the schedule, and seen (first owed output to last seen). */
  readonly owedPerS: number
  readonly seenPerS: number
}

export interface MeasureOptions {
  readonly rate: number
  readonly durationMs: number
  readonly warmupMs: number
  readonly drainMs?: number
}

/** A target keeps up when it delivered at least this share of the owed output rate. */
export const KEEPS_UP = 0.95

export const keepsUp = (r: LatencyResult): boolean => r.seenPerS >= KEEPS_UP * r.owedPerS

export const measureLatency = async (
  makeTarget: (onSeen: OnSeen) => Promise<LatencyTarget>, options: MeasureOptions
): Promise<LatencyResult> => {
  const total = Math.max(1, Math.round((options.rate * options.durationMs) / 1000))
  const warmup = Math.round((options.rate * options.warmupMs) / 1000)
  const intended = new Float64Array(total)
  const sentAt = new Float64Array(total)
  const seen = new Uint8Array(total)
  const recorder = new LatencyRecorder()
  let measured = 0
  let unowed = 0
  let lastSeen = 0
  let target: LatencyTarget | undefined
  const onSeen: OnSeen = (seq, at) => {
    if (seq < 0 || seq >= total || seen[seq]) return
    // Only owed outputs are measured (and awaited): the engine also emits for a symbol's
    // first qualifying event, which the warm-up covers in a full run.
    if (target === undefined || !target.emits(seq)) {
      unowed++
      return
    }
    seen[seq] = 1
    if (seq >= warmup) {
      recorder.record(intended[seq] as number, sentAt[seq] as number, at)
      measured++
      lastSeen = Math.max(lastSeen, at)
    }
  }
  target = await makeTarget(onSeen)
  try {
    const t = target
    const start = performance.now() + 20
    await runOpenLoop({ start, rate: options.rate, total }, (events, now) => {
      for (const e of events) {
        intended[e.seq] = e.intended
        sentAt[e.seq] = now
      }
      return t.send(events)
    })
    let expected = 0
    let firstOwed = Number.NaN
    let lastOwed = Number.NaN
    for (let i = warmup; i < total; i++) {
      if (!t.emits(i)) continue
      expected++
      if (Number.isNaN(firstOwed)) firstOwed = intended[i] as number
      lastOwed = intended[i] as number
    }
    const deadline = performance.now() + (options.drainMs ?? 15_000)
    while (measured < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    // What never came is recorded where the wait gave up, not left out.
    const gaveUp = performance.now()
    let lost = 0
    for (let i = warmup; i < total; i++) {
      if (!t.emits(i) || seen[i]) continue
      seen[i] = 1
      recorder.record(intended[i] as number, sentAt[i] as number, gaveUp)
      lost++
    }
    const s = recorder.summary()
    const owedSpan = (lastOwed - firstOwed) / 1000
    const seenSpan = (lastSeen - firstOwed) / 1000
    return {
      target: t.name, rate: options.rate, sent: total, measured, lost, unowed, raw: s.raw, corrected: s.corrected,
      owedPerS: owedSpan > 0 ? (expected - 1) / owedSpan : 0,
      seenPerS: seenSpan > 0 ? (measured - 1) / seenSpan : 0
    }
  } finally {
    recorder.destroy()
    await target.stop()
  }
}
