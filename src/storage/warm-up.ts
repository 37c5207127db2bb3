/**
 * The warm-up: the cold → hot move. When a series' hot window grows (a promotion, a policy
 * with more hot days), rows already held cold inside it move back to PostgreSQL without
 * being fetched again, so the hot tier holds exactly the layer's hot window.
 * One cold object at a time (as the manifest lists them), each under the series' lock
 * (cold-commit.ts), which every cold writer of the series takes too, so no row can be
 * added to the object between the read and the removal:
 *   1. read the object's rows inside the window (readCold, through the manifest);
 *   2. write them hot (writeHot: idempotent on the natural key);
 *   3. move their coverage from `cold` to `hot`;
 *   4. take them out of the cold tier (removeRange: one manifest transaction).
 * Last, the whole window's remaining cold coverage (days without rows have no object)
 * becomes hot. A crash anywhere leaves every row in at least one tier, perhaps in both
 * (readers keep one, read-router.ts); a rerun reads what is still cold, writes nothing it
 * holds already, and finishes the job. The rerun is found by what is stored cold inside
 * the window, never by coverage, so a crash after step 3 still converges.
 * Does not decide the window: tiering.ts (the layer's policy now) and the backfill worker
 * (the promoted command's window) pass it.
 */
import type { StorageKind } from "../domain/rows.ts"
import { clipRanges } from "../domain/ranges.ts"
import { sweepSeries, withSeries } from "./cold-commit.ts"
import { readCold } from "./cold-read.ts"
import { removeRange } from "./cold-store.ts"
import { coverageByTier, retierCoverage } from "./coverage.ts"
import { writeHot, type Series } from "./hot-store.ts"
import { objectsOverlapping } from "./manifest.ts"
import type { StorageDeps } from "./write-router.ts"

export interface WarmUp {
  /** Rows newly written hot (rows already hot are not counted). */
  rows: number
  /** Cold objects emptied or trimmed. */
  objects: number
}

/** Move the rows of series `s` with time in [from, to) from the cold tier to the hot tier. */
export const warmUp = async <K extends StorageKind>(
  deps: StorageDeps, kind: K, s: Series, from: number, to: number = Number.POSITIVE_INFINITY
): Promise<WarmUp> => {
  const out: WarmUp = { rows: 0, objects: 0 }
  if (!(to > from)) return out
  const lake = { sql: deps.sql, store: deps.store }
  const cs = { kind, symbol: s.symbol, interval: s.interval }
  for (const object of await objectsOverlapping(deps.sql, deps.store.location, cs, from, to)) {
    const lo = Math.max(object.minMs, from)
    const hi = Math.min(object.maxMs + 1, to)
    await withSeries(lake, cs, async (conn, inTx) => {
      await sweepSeries(lake, conn, cs)
      const rows = await readCold(lake, kind, s.symbol, s.interval, lo, hi)
      if (rows.length > 0) out.rows += await writeHot(deps.sql, kind, rows)
      await retierCoverage(deps.sql, kind, s.symbol, s.interval, { from: lo, to: hi }, "cold", "hot")
      const removed = await removeRange(lake, conn, inTx, cs, lo, hi)
      out.objects += removed.objectsDeleted + removed.objectsTrimmed
    })
  }
  // Read first: a pass over every series finds nothing to change almost always.
  const { cold } = await coverageByTier(deps.sql, kind, s.symbol, s.interval)
  if (clipRanges(cold, { from, to }).length > 0) await retierCoverage(deps.sql, kind, s.symbol, s.interval, { from, to }, "cold", "hot")
  return out
}
