/**
 * The dashboard's time series: every `intervalMs` the sampler takes a reading of the
 * engine's figures (figures.ts), turns the difference from the previous reading into
 * rates, and keeps the last `windowMs` of points in a ring buffer, so memory is bounded
 * (window / interval points of a few dozen numbers). Commit latency comes from the
 * ingest loop's commit hook into a bounded reservoir per interval.
 * Serves no HTTP itself (api-series.ts does) and schedules nothing (runtime.ts does).
 */
import { entryIdMs } from "../domain/time.ts"
import type { Reading } from "./figures.ts"
import { MAX_MEANINGFUL_LATENCY_MS } from "./metrics.ts"
import { Reservoir, Ring, quantile } from "./ring.ts"

export interface Point {
  /** Wall-clock time of the reading, ms. */
  readonly t: number
  /** Scores entries handled per second (persisted counters, so restarts do not dip). */
  readonly ingestPerS: number | null
  /** Commit latency of the interval's batches, ms; null when no batch committed (idle). */
  readonly commitP50: number | null
  readonly commitP99: number | null
  readonly backlog: Readonly<Record<string, number | null>>
  /** Lifecycle events per minute, by the layer moved to (index 0..3). */
  readonly transitionsPerMin: readonly number[]
  readonly layers: readonly number[]
  readonly backfillRowsPerS: number | null
  readonly providerRequestsPerS: number | null
  /** Dead letters per minute by reason class. */
  readonly deadPerMin: Readonly<Record<string, number>>
  /** Dead letters added in the interval, all reasons. */
  readonly deadCount: number
}

export interface Series {
  readonly intervalMs: number
  readonly windowMs: number
  /** The provider's configured limit, requests/s; null when unlimited. */
  readonly rateLimitPerS: number | null
  readonly t: readonly number[]
  readonly ingestPerS: readonly (number | null)[]
  readonly commitP50: readonly (number | null)[]
  readonly commitP99: readonly (number | null)[]
  readonly backlog: Readonly<Record<string, readonly (number | null)[]>>
  readonly transitionsPerMin: Readonly<Record<string, readonly number[]>>
  readonly layers: Readonly<Record<string, readonly number[]>>
  readonly backfillRowsPerS: readonly (number | null)[]
  readonly providerRequestsPerS: readonly (number | null)[]
  readonly deadPerMin: Readonly<Record<string, readonly number[]>>
  /** Dead letters added over the sampled window, all reasons. */
  readonly deadInWindow: number
}

const LAYER_LABELS = ["unqualified", "L1", "L2", "L3"] as const

// A counter that went down was reset (its key deleted): no rate for that interval.
const rate = (prev: number | undefined, cur: number | undefined, perMs: number): number | null =>
  prev === undefined || cur === undefined || cur < prev ? null : (cur - prev) / perMs

/** The point between two readings `dtMs` apart. Pure. */
export const pointOf = (
  t: number, dtMs: number, prev: Reading, cur: Reading, latency: { p50: number | undefined; p99: number | undefined }
): Point => {
  const perS = dtMs / 1000, perMin = dtMs / 60_000
  const deadPerMin: Record<string, number> = {}
  let deadCount = 0
  for (const [k, v] of Object.entries(cur.deadByReason)) { deadPerMin[k] = v / perMin; deadCount += v }
  return {
    t,
    ingestPerS: rate(prev.stats["entries"] ?? 0, cur.stats["entries"] ?? 0, perS),
    commitP50: latency.p50 ?? null,
    commitP99: latency.p99 ?? null,
    backlog: cur.backlog,
    transitionsPerMin: cur.transitionsTo.map((n) => n / perMin),
    layers: cur.layers,
    backfillRowsPerS: rate(prev.backfill?.written, cur.backfill?.written, perS),
    providerRequestsPerS: rate(prev.backfill?.requests, cur.backfill?.requests, perS),
    deadPerMin,
    deadCount
  }
}

/** Columns of points, one array per series; keys seen in any point are filled with 0/null. */
export const toSeries = (points: readonly Point[], meta: Pick<Series, "intervalMs" | "windowMs" | "rateLimitPerS">): Series => {
  const keyed = <V>(pick: (p: Point) => Readonly<Record<string, V>>, missing: V) => {
    const names = new Set<string>()
    for (const p of points) for (const k of Object.keys(pick(p))) names.add(k)
    const out: Record<string, V[]> = {}
    for (const k of [...names].sort()) out[k] = points.map((p) => pick(p)[k] ?? missing)
    return out
  }
  const byLayer = (pick: (p: Point) => readonly number[]) =>
    Object.fromEntries(LAYER_LABELS.map((name, i) => [name, points.map((p) => pick(p)[i] ?? 0)]))
  return {
    ...meta,
    t: points.map((p) => p.t),
    ingestPerS: points.map((p) => p.ingestPerS),
    commitP50: points.map((p) => p.commitP50),
    commitP99: points.map((p) => p.commitP99),
    backlog: keyed<number | null>((p) => p.backlog, null),
    transitionsPerMin: byLayer((p) => p.transitionsPerMin),
    layers: byLayer((p) => p.layers),
    backfillRowsPerS: points.map((p) => p.backfillRowsPerS),
    providerRequestsPerS: points.map((p) => p.providerRequestsPerS),
    deadPerMin: keyed<number>((p) => p.deadPerMin, 0),
    deadInWindow: points.reduce((n, p) => n + p.deadCount, 0)
  }
}


export interface SamplerOptions {
  readonly intervalMs: number
  readonly windowMs: number
  readonly rateLimitPerS: number | null
  readonly clock?: () => number
}

export class Sampler {
  private readonly points: Ring<Point>
  private readonly latency = new Reservoir(2048, 0x5eed)
  private previous: { t: number; reading: Reading } | undefined
  private readonly clock: () => number
  /** Readings that failed (logged by the caller); the next reading starts a new baseline. */
  failures = 0

  constructor(private readonly read: () => Promise<Reading>, private readonly options: SamplerOptions) {
    this.points = new Ring(Math.max(1, Math.ceil(options.windowMs / options.intervalMs)))
    this.clock = options.clock ?? Date.now
  }

  /** Hook for the ingest loop's onCommit: the batch's oldest entry ID. */
  readonly observeCommit = (oldestId: string): void => {
    const ms = this.clock() - entryIdMs(oldestId)
    if (ms >= 0 && ms < MAX_MEANINGFUL_LATENCY_MS) this.latency.offer(ms)
  }

  async sample(): Promise<void> {
    let reading: Reading
    try {
      reading = await this.read()
    } catch (e) {
      this.failures++
      this.previous = undefined
      throw e
    }
    const t = this.clock()
    const prev = this.previous
    this.previous = { t, reading }
    // Commits seen before the first reading belong to the first point, not to nothing.
    if (!prev || t <= prev.t) return
    const { sorted } = this.latency.drain()
    this.points.push(pointOf(t, t - prev.t, prev.reading, reading, { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }))
  }

  latest(): Point | undefined {
    return this.points.last()
  }

  series(): Series {
    return toSeries(this.points.toArray(), { intervalMs: this.options.intervalMs, windowMs: this.options.windowMs, rateLimitPerS: this.options.rateLimitPerS })
  }
}
