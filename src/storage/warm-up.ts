/**
 * The warm-up: the cold → hot move. When a series' hot window grows (a promotion, a policy
 * with more hot days), rows already held cold inside it move back to PostgreSQL without
 * being fetched again, so the hot tier holds exactly the layer's hot window.
 * One cold object at a time, in this order:
 *   1. read the object's rows inside the window (readCold);
 *   2. write them hot (writeHot: idempotent on the natural key);
 *   3. move their coverage from `cold` to `hot`;
 *   4. take them out of the cold tier (removeColdRange, under the object lock). Inside that
 *      lock the object is read once more and any row a concurrent writer merged in since
 *      step 1 is written hot first, so no row leaves the cold tier before it is hot.
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
import type { Lock } from "./cold-store.ts"
import { coldKeys, readCold, removeColdRange } from "./cold-store.ts"
import { coverageByTier, retierCoverage } from "./coverage.ts"
import { writeHot, type Series } from "./hot-store.ts"
import { objectSpan } from "./layout.ts"
import { advisoryLock } from "./locks.ts"
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
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  const objectLock = advisoryLock(deps.sql)
  for (const objKey of await coldKeys(deps.store, kind, s.symbol, s.interval, from, to)) {
    const span = objectSpan(kind, s.interval, objKey)
    if (!span) continue
    const lo = Math.max(span.from, from)
    const hi = Math.min(span.to, to)
    const rows = await readCold(deps.store, kind, s.symbol, s.interval, lo, hi)
    if (rows.length > 0) out.rows += await writeHot(deps.sql, kind, rows)
    await retierCoverage(deps.sql, kind, s.symbol, s.interval, { from: lo, to: hi }, "cold", "hot")
    const written = new Set(rows.map(key))
    const rescuing: Lock = (name, fn) => objectLock(name, async () => {
      const late = (await readCold(deps.store, kind, s.symbol, s.interval, lo, hi)).filter((r) => !written.has(key(r)))
      if (late.length > 0) out.rows += await writeHot(deps.sql, kind, late)
      return fn()
    })
    const removed = await removeColdRange(deps.store, kind, s.symbol, s.interval, lo, hi, rescuing)
    out.objects += removed.objectsDeleted + removed.objectsRewritten
  }
  // Read first: a pass over every series finds nothing to change almost always.
  const { cold } = await coverageByTier(deps.sql, kind, s.symbol, s.interval)
  if (clipRanges(cold, { from, to }).length > 0) await retierCoverage(deps.sql, kind, s.symbol, s.interval, { from, to }, "cold", "hot")
  return out
}
