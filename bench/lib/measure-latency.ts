/**
 * One latency measurement: drive a target with the open-loop schedule at a fixed rate for
 * a fixed time, record every output's latency (raw and corrected) after a warm-up, and
 * wait for the stragglers. Outputs never seen within the drain time are counted as lost
 * rather than silently dropped from the percentiles.
 */
import { LatencyRecorder, type LatencyStats } from "./histogram.ts"
import type { LatencyTarget, OnSeen } from "./latency-targets.ts"
import { runOpenLoop } from "./open-loop.ts"

export interface LatencyResult {
  readonly target: string
  readonly rate: number
  readonly sent: number
  readonly measured: number
  readonly lost: number
  readonly raw: LatencyStats
  readonly corrected: LatencyStats
}

export interface MeasureOptions {
  readonly rate: number
  readonly durationMs: number
  readonly warmupMs: number
  readonly drainMs?: number
}

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
  let target: LatencyTarget | undefined
  const onSeen: OnSeen = (seq, at) => {
    if (seq < 0 || seq >= total || seen[seq]) return
    seen[seq] = 1
    if (seq >= warmup) {
      recorder.record(intended[seq] as number, sentAt[seq] as number, at)
      measured++
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
    for (let i = warmup; i < total; i++) if (t.emits(i)) expected++
    const deadline = performance.now() + (options.drainMs ?? 15_000)
    while (measured < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    const s = recorder.summary()
    return { target: t.name, rate: options.rate, sent: total, measured, lost: expected - measured, raw: s.raw, corrected: s.corrected }
  } finally {
    recorder.destroy()
    await target.stop()
  }
}
