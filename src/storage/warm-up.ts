/**
 * The warm-up: the cold → hot move. When a series' hot window grows (a promotion, a policy
 * with more hot days), rows already held cold inside it move back to PostgreSQL without
 * being fetched again, so the hot tier holds exactly the layer's hot window.
 * One cold object at a time (as the manifest lists them):
 *   1. read the object's rows inside the window (readCold, through the manifest);
 *   2. write them hot (writeHot: idempotent on the natural key);
 *   3. move their coverage from `cold` to `hot`;
 *   4. under the series' lock (cold-commit.ts), which every cold writer of the series takes
 *      too, read the rows again and, if none was added since step 1, take them out of the
 *      cold tier (removeRange: one manifest transaction); else repeat from step 1.
 * Last, the whole window's remaining cold coverage (days without rows have no object)
 * becomes hot. A crash anywhere leaves every row in at least one tier, perhaps in both
 * (readers keep one, read-router.ts); a rerun reads what is still cold, writes nothing it
 * holds already, and finishes the job. The rerun is found by what is stored cold inside
 * the window, never by coverage, so a crash after step 3 still converges.
 * Does not decide the window: tiering.ts (the layer's policy now) and the backfill worker
 * (the promoted command's window) pass it.
 */
import type { RowsOf, StorageKind } from "../domain/rows.ts"
import { naturalKey } from "../domain/rows.ts"
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
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  for (const object of await objectsOverlapping(deps.sql, deps.store.location, cs, from, to)) {
    const lo = Math.max(object.minMs, from)
    const hi = Math.min(object.maxMs + 1, to)
    // The hot write happens outside the series lock: the lock holds one reserved connection,
    // and a holder that also waited for a pool connection could exhaust the pool with a few
    // warm-ups at once. Inside the lock the rows are read again on that connection; if a
    // writer added one since, nothing is removed and the round repeats.
    for (let round = 0; round < 5; round++) {
      const rows = await readCold(lake, kind, s.symbol, s.interval, lo, hi)
      if (rows.length > 0) out.rows += await writeHot(deps.sql, kind, rows)
      await retierCoverage(deps.sql, kind, s.symbol, s.interval, { from: lo, to: hi }, "cold", "hot")
      const written = new Set(rows.map(key))
      const removed = await withSeries(lake, cs, async (conn, inTx) => {
        await sweepSeries(lake, conn, cs)
        const now = await readCold({ sql: conn, store: deps.store }, kind, s.symbol, s.interval, lo, hi)
        if (now.some((r) => !written.has(key(r)))) return undefined
        return removeRange(lake, conn, inTx, cs, lo, hi)
      })
      if (removed === undefined) continue
      out.objects += removed.objectsDeleted + removed.objectsTrimmed
      break
    }
  }
  // Read first: a pass over every series finds nothing to change almost always.
  const { cold } = await coverageByTier(deps.sql, kind, s.symbol, s.interval)
  if (clipRanges(cold, { from, to }).length > 0) await retierCoverage(deps.sql, kind, s.symbol, s.interval, { from, to }, "cold", "hot")
  return out
}
