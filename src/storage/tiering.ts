/**
 * Tiering and retention: for every series held (hot rows or cold objects), apply the
 * symbol's layer's policy at `now` (retention.ts):
 *   0. warm up: rows held cold inside the hot window (it grew: a promotion, a policy with
 *      more hot days) move back to PostgreSQL (warm-up.ts), so the hot tier holds exactly
 *      the hot window;
 *   1. move hot rows older than the hot window into Parquet, one object period at a time:
 *      in one transaction, DELETE … RETURNING the rows, write them as a new part object,
 *      read it back and check its checksum, add it to the manifest, then COMMIT. A crash
 *      before the commit rolls the delete back and leaves an invisible part, which the
 *      next change of the series deletes (cold-commit.ts) — so rows are never lost and end
 *      up in exactly one tier;
 *   2. expire what is older than the whole window: hot rows deleted, cold objects wholly
 *      older dropped, an object straddling the boundary replaced without its old rows;
 *      a series the layer no longer keeps at all is removed from both tiers;
 *   3. update the coverage ledger: the moved range becomes cold, expired ranges are cleared
 *      (the warmed range became hot in step 0).
 * Each step is idempotent, so a rerun after any crash finishes the job. A demotion is the
 * same run restricted to the demoted symbols (with their new layer).
 * Symbols whose layer is unknown are left untouched and reported: tiering never deletes
 * data it cannot attribute to a policy.
 * Which series and objects exist comes from the hot tables and the manifest: a pass never
 * lists the store.
 * Does not know where layers come from (`layersOf` is injected by the entry point).
 */
import { Effect, Schedule } from "effect"
import type { Config, RetentionPolicy } from "../../config/schema.ts"
import type { Layer } from "../domain/layers.ts"
import type { StorageKind } from "../domain/rows.ts"
import { parseDuration } from "../domain/time.ts"
import type { Logger } from "../services/logger.ts"
import type { Sql } from "../services/postgres.ts"
import { newPartKey, putObject, sweepSeries, withSeries } from "./cold-commit.ts"
import { freshRows, removeRange } from "./cold-store.ts"
import { runCompaction } from "./compaction.ts"
import { clearCoverage, retierCoverage } from "./coverage.ts"
import { deleteHot, firstHotTime, hotSeries, takeHot, type Series } from "./hot-store.ts"
import { periodEnd, periodOf, periodStart } from "./layout.ts"
import { coldSeries, commitObjects, markPending, objectsOverlapping } from "./manifest.ts"
import type { ObjectStore } from "./object-store.ts"
import { keptWindows, seriesKey, type KeptWindow } from "./retention.ts"
import { warmUp } from "./warm-up.ts"

export interface TieringDeps {
  readonly sql: Sql
  readonly store: ObjectStore
  /** Current layer of each symbol asked about; symbols absent from the map are unknown. */
  readonly layersOf: (symbols: readonly string[]) => Promise<ReadonlyMap<string, Layer>>
  readonly log?: Logger
}

export interface TieringReport {
  /** Rows moved from PostgreSQL to Parquet. */
  moved: number
  /** Rows moved back from Parquet to PostgreSQL (the hot window grew: a promotion). */
  warmed: number
  /** Hot rows deleted as past retention. */
  hotExpired: number
  /** Cold objects deleted whole, and rewritten without their expired rows. */
  objectsDeleted: number
  objectsTrimmed: number
  /** Series visited. */
  series: number
  /** Symbols left untouched because their layer is unknown. */
  unknown: string[]
}

const KINDS: readonly StorageKind[] = ["bars", "news", "corporate_actions", "social_sentiment"]

/** Series of a kind held in either tier (hot tables and the manifest), optionally only of some symbols. */
const seriesHeld = async (deps: TieringDeps, kind: StorageKind, only?: ReadonlySet<string>): Promise<Series[]> => {
  const byKey = new Map<string, Series>()
  for (const s of await hotSeries(deps.sql, kind)) {
    if (!only || only.has(s.symbol)) byKey.set(`${s.symbol}|${s.interval}`, { symbol: s.symbol, interval: s.interval })
  }
  for (const s of await coldSeries(deps.sql, deps.store.location, kind, only ? [...only] : undefined)) {
    byKey.set(`${s.symbol}|${s.interval}`, { symbol: s.symbol, interval: s.interval })
  }
  return [...byKey.values()]
}

/**
 * Step 1: hot rows in [from, to) → Parquet, one object period per transaction, under the
 * series lock: the part's key is recorded pending first; then one transaction deletes the
 * hot rows (RETURNING them), writes and verifies the part, and adds it to the manifest.
 */
const moveToCold = async (deps: TieringDeps, kind: StorageKind, s: Series, from: number, to: number): Promise<number> => {
  const period = periodOf(kind, s.interval)
  const cs = { kind, symbol: s.symbol, interval: s.interval }
  const lake = { sql: deps.sql, store: deps.store }
  return withSeries(lake, cs, async (conn, inTx) => {
    await sweepSeries(lake, conn, cs)
    let moved = 0
    let cursor = from
    for (;;) {
      const next = await firstHotTime(conn, kind, s, cursor, to)
      if (next === undefined) break
      const lo = Math.max(periodStart(period, next), from)
      const hi = Math.min(periodEnd(period, periodStart(period, next)), to)
      const key = newPartKey(cs, lo)
      await markPending(conn, deps.store.location, cs, [key])
      moved += await inTx(async () => {
        const rows = await takeHot(conn, kind, s, lo, hi)
        if (rows.length === 0) return 0
        const fresh = await freshRows(lake, conn, cs, rows)
        if (fresh.length > 0) {
          const o = await putObject(lake, conn, cs, fresh, { verify: true, key })
          await commitObjects(conn, deps.store.location, [o], [])
        }
        return rows.length
      })
      cursor = hi
    }
    // Keys reserved for periods that turned out empty.
    await sweepSeries(lake, conn, cs)
    return moved
  })
}

/** Step 2, cold side: objects wholly before `keepFrom` dropped, straddling ones trimmed (manifest, no listing). */
const expireCold = async (
  deps: TieringDeps, kind: StorageKind, s: Series, keepFrom: number, report: TieringReport
): Promise<void> => {
  const cs = { kind, symbol: s.symbol, interval: s.interval }
  const lake = { sql: deps.sql, store: deps.store }
  // Nothing to expire: decided from the manifest alone, without taking the lock.
  if ((await objectsOverlapping(deps.sql, deps.store.location, cs, Number.NEGATIVE_INFINITY, keepFrom)).length === 0) return
  const r = await withSeries(lake, cs, async (conn, inTx) => {
    await sweepSeries(lake, conn, cs)
    return removeRange(lake, conn, inTx, cs, Number.NEGATIVE_INFINITY, keepFrom)
  })
  report.objectsDeleted += r.objectsDeleted
  report.objectsTrimmed += r.objectsTrimmed
}

const tierSeries = async (
  deps: TieringDeps, kind: StorageKind, s: Series, w: KeptWindow | undefined, report: TieringReport
): Promise<void> => {
  // A series the layer does not keep at all expires entirely.
  const keepFrom = w?.keepFrom ?? Number.POSITIVE_INFINITY
  const hotFrom = w?.hotFrom ?? Number.POSITIVE_INFINITY
  // Rows held cold inside the hot window (the window grew since they were written) go hot.
  if (w) report.warmed += (await warmUp(deps, kind, s, hotFrom)).rows
  if (w && hotFrom > keepFrom) {
    report.moved += await moveToCold(deps, kind, s, keepFrom, hotFrom)
    await retierCoverage(deps.sql, kind, s.symbol, s.interval, { from: keepFrom, to: hotFrom }, "hot", "cold")
  }
  report.hotExpired += await deleteHot(deps.sql, kind, s, Number.NEGATIVE_INFINITY, keepFrom)
  await expireCold(deps, kind, s, keepFrom, report)
  await clearCoverage(deps.sql, kind, s.symbol, s.interval, w ? { from: Number.NEGATIVE_INFINITY, to: keepFrom } : undefined)
}

/** One tiering pass at `now`, over every series held or only over `symbols`. */
export const runTiering = async (
  deps: TieringDeps, policy: RetentionPolicy, now: number, symbols?: readonly string[]
): Promise<TieringReport> => {
  const report: TieringReport = { moved: 0, warmed: 0, hotExpired: 0, objectsDeleted: 0, objectsTrimmed: 0, series: 0, unknown: [] }
  const only = symbols ? new Set(symbols) : undefined
  const windowsByLayer = new Map<Layer, Map<string, KeptWindow>>()
  const unknown = new Set<string>()
  for (const kind of KINDS) {
    const series = await seriesHeld(deps, kind, only)
    const layers = await deps.layersOf([...new Set(series.map((s) => s.symbol))])
    for (const s of series) {
      const layer = layers.get(s.symbol)
      if (layer === undefined) {
        unknown.add(s.symbol)
        continue
      }
      let windows = windowsByLayer.get(layer)
      if (!windows) windowsByLayer.set(layer, (windows = keptWindows(policy, layer, now)))
      await tierSeries(deps, kind, s, windows.get(seriesKey(kind, s.interval)), report)
      report.series++
    }
  }
  report.unknown = [...unknown].sort()
  return report
}

/**
 * The tiering fiber: a full pass every `storage.tiering.every` (tiering, then compaction), and, when `demotions` is
 * given and `storage.tiering.on_demotion` is on, a pass over each batch of demoted or
 * disqualified symbols as soon as it arrives. Failures are logged and the next pass retries.
 */
export const tieringFiber = (
  deps: TieringDeps & { readonly demotions?: () => Promise<readonly string[]> },
  config: Pick<Config, "retention" | "storage">,
  clock: () => number = Date.now
) =>
  Effect.gen(function* () {
    const every = parseDuration(config.storage.tiering.every) ?? 3_600_000
    const pass = (symbols?: readonly string[]) =>
      Effect.tryPromise(async () => {
        const now = clock()
        const tiering = await runTiering(deps, config.retention, now, symbols)
        // Parts the pass (and backfill) added are merged on the same schedule.
        const compaction = await runCompaction({ sql: deps.sql, store: deps.store }, { now, ...(symbols ? { symbols } : {}) })
        return { ...tiering, compaction }
      }).pipe(
        Effect.tap((r) => Effect.sync(() => deps.log?.info({ ...r, symbols }, "tiering pass done"))),
        Effect.catchCause((cause) => Effect.sync(() => deps.log?.error({ cause: String(cause) }, "tiering pass failed")))
      )
    yield* Effect.forkScoped(pass().pipe(Effect.repeat(Schedule.spaced(every))))
    const demotions = deps.demotions
    if (demotions && config.storage.tiering.on_demotion) {
      yield* Effect.forkScoped(
        Effect.tryPromise(() => demotions()).pipe(
          Effect.flatMap((symbols) => (symbols.length > 0 ? pass(symbols) : Effect.void)),
          Effect.tapError((e) => Effect.sync(() => deps.log?.error({ err: String(e) }, "demotion feed failed"))),
          // A broken feed (Redis away) is retried on a schedule rather than spun on.
          Effect.retry(Schedule.spaced("1 second")),
          Effect.forever
        )
      )
    }
  })
