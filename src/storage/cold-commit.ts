/**
 * How an object of the cold tier comes and goes, crash-safely:
 *   1. its key (unique, never reused) is recorded as pending, committed on its own;
 *   2. the object is written whole (and, with `verify`, read back and its checksum checked);
 *   3. one transaction adds its manifest row and drops the rows of the objects it replaces
 *      (those keys become pending) — the step that makes it visible;
 *   4. after the commit, replaced objects are deleted from the store and their pending
 *      rows dropped.
 * A crash before 3 leaves an invisible object named by a pending row; a crash after it
 * leaves replaced objects named by pending rows. `sweepSeries` deletes both, under the
 * series lock, so it never touches a live writer's object: every change of a series runs
 * inside `withSeries`, one session of its own holding an advisory lock (which a dead
 * process, or a lost connection, releases) and running the transaction, so a change
 * takes no connection from the pool.
 * Does not decide which rows go where (cold-store.ts, compaction.ts, tiering.ts).
 */
import { createHash, randomBytes } from "node:crypto"
import type { RowsOf, StorageKind } from "../domain/rows.ts"
import { rowTime } from "../domain/rows.ts"
import { openSession, type Sql } from "../services/postgres.ts"
import { partKey, periodSpan } from "./layout.ts"
import { dropPending, markPending, pendingOf, type ColdObject, type ColdSeries } from "./manifest.ts"
import type { ObjectStore } from "./object-store.ts"
import { encodeParquet } from "./parquet.ts"

/** The cold tier: objects in a store, listed in a manifest in PostgreSQL. */
export interface Lake {
  readonly sql: Sql
  readonly store: ObjectStore
}

/** Runs `fn` while holding an exclusive lock named `name`. */
export type Lock = <T>(name: string, fn: () => Promise<T>) => Promise<T>

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

const lockName = (lake: Lake, s: ColdSeries) => `cold|${lake.store.location}|${s.kind}|${s.symbol}|${s.interval}`

/**
 * Run `fn` with the series locked, on a session of its own (see `openSession`). `fn` gets
 * that session and `inTx`, which runs its body in a transaction on it. If the session's
 * connection is lost midway, every later statement fails and so does the change: the
 * server has released the lock and rolled back the open transaction, and what was left
 * is pending, for the next sweep.
 */
export const withSeries = async <T>(
  lake: Lake, s: ColdSeries, fn: (conn: Sql, inTx: <R>(body: () => Promise<R>) => Promise<R>) => Promise<T>
): Promise<T> => {
  const session = openSession(lake.sql)
  const conn = session.sql
  const name = lockName(lake, s)
  const inTx = async <R>(body: () => Promise<R>): Promise<R> => {
    await conn.unsafe("BEGIN")
    try {
      const out = await body()
      await conn.unsafe("COMMIT")
      return out
    } catch (e) {
      try {
        await conn.unsafe("ROLLBACK")
      } catch (rollback) {
        // A lost session cannot roll back (the server already has): both failures are
        // reported, the body's first.
        throw new AggregateError([e, rollback], `series change failed (${String(e)}), and so did its rollback (${String(rollback)})`)
      }
      throw e
    }
  }
  try {
    await conn`SELECT pg_advisory_lock(hashtext(${name}))`
    const out = await fn(conn, inTx)
    await conn`SELECT pg_advisory_unlock(hashtext(${name}))`
    return out
  } finally {
    // Ending the session releases the lock if `fn` failed before the unlock.
    await session.end()
  }
}

/** A fresh key for a part of the period holding `ms`. */
export const newPartKey = (s: ColdSeries, ms: number): string =>
  partKey(s.kind, s.symbol, s.interval, ms, randomBytes(6).toString("hex"))

/**
 * Steps 1–2 for rows of one period: record the key pending (on `conn`, outside any
 * transaction, so the record survives a rollback), write the object, optionally read it
 * back. Returns its manifest row, to commit (step 3). `key` may be reserved beforehand.
 */
export const putObject = async <K extends StorageKind>(
  lake: Lake, conn: Sql, s: ColdSeries & { kind: K }, rows: readonly RowsOf[K][], options: { verify?: boolean; key?: string } = {}
): Promise<ColdObject> => {
  const time = rowTime[s.kind] as (r: RowsOf[K]) => number
  let min = Infinity
  let max = -Infinity
  for (const r of rows) {
    const t = time(r)
    if (t < min) min = t
    if (t > max) max = t
  }
  const span = periodSpan(s.kind, s.interval, min)
  if (max >= span.to) throw new Error(`rows of ${s.symbol} ${s.interval} span more than one period`)
  const key = options.key ?? newPartKey(s, min)
  if (!options.key) await markPending(conn, lake.store.location, s, [key])
  const bytes = encodeParquet(s.kind, rows)
  const checksum = sha256(bytes)
  await lake.store.put(key, bytes)
  if (options.verify) {
    const back = await lake.store.get(key)
    if (!back || sha256(back) !== checksum) throw new Error(`object ${key} read back differently from what was written`)
  }
  return {
    key, kind: s.kind, symbol: s.symbol, interval: s.interval, periodFrom: span.from, periodTo: span.to,
    minMs: min, maxMs: max, rows: rows.length, bytes: bytes.byteLength, checksum
  }
}

/** Step 4: delete objects no longer in the manifest (after the commit that replaced them). */
export const deleteReplaced = async (lake: Lake, conn: Sql, keys: readonly string[]): Promise<void> => {
  for (const k of keys) await lake.store.delete(k)
  await dropPending(conn, lake.store.location, keys)
}

/**
 * Delete the series' pending objects that no manifest row names: a dead writer's
 * unfinished object or a replaced one. Call only inside `withSeries`. Returns how many.
 */
export const sweepSeries = async (lake: Lake, conn: Sql, s: ColdSeries): Promise<number> => {
  const stale = await pendingOf(conn, lake.store.location, s)
  await deleteReplaced(lake, conn, stale.map((p) => p.key))
  return stale.length
}
