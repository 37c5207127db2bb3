/**
 * The manifest of cold objects in PostgreSQL: one row per visible object (its lake, key,
 * series, period, time of its first and last row, rows, bytes, SHA-256 of its bytes), and
 * a list of pending keys: objects that may be in the store without being visible (being
 * written, or replaced and awaiting deletion).
 * An object is visible exactly when its manifest row is committed, and that commit is the
 * step that makes it visible: the same transaction that deletes the hot rows it holds, or
 * that drops the rows of the objects it replaces. Readers, tiering and compaction ask the
 * manifest which objects exist and never list the store.
 * Does not read or write objects (cold-commit.ts does) nor decide what goes in them.
 */
import type { StorageKind } from "../domain/rows.ts"
import type { Sql } from "../services/postgres.ts"

export const MANIFEST_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS cold_objects (
     lake        text NOT NULL,
     key         text NOT NULL,
     kind        text NOT NULL,
     symbol      text NOT NULL,
     interval    text NOT NULL DEFAULT '',
     period_from bigint NOT NULL,
     period_to   bigint NOT NULL CHECK (period_to > period_from),
     min_ms      bigint NOT NULL,
     max_ms      bigint NOT NULL CHECK (max_ms >= min_ms),
     rows        bigint NOT NULL CHECK (rows > 0),
     bytes       bigint NOT NULL,
     checksum    text NOT NULL,
     created_at  timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (lake, key)
   )`,
  `CREATE INDEX IF NOT EXISTS cold_objects_series ON cold_objects (lake, kind, symbol, interval, min_ms)`,
  `CREATE TABLE IF NOT EXISTS cold_pending (
     lake     text NOT NULL,
     key      text NOT NULL,
     kind     text NOT NULL,
     symbol   text NOT NULL,
     interval text NOT NULL DEFAULT '',
     since    timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (lake, key)
   )`,
  `CREATE INDEX IF NOT EXISTS cold_pending_series ON cold_pending (lake, kind, symbol, interval)`
]

/** One series of the cold tier. */
export interface ColdSeries { readonly kind: StorageKind; readonly symbol: string; readonly interval: string }

/** One visible object, as the manifest lists it. */
export interface ColdObject extends ColdSeries {
  readonly key: string
  /** The period [periodFrom, periodTo) the object belongs to (layout.ts). */
  readonly periodFrom: number
  readonly periodTo: number
  /** Time of its first and last row (inclusive). */
  readonly minMs: number
  readonly maxMs: number
  readonly rows: number
  readonly bytes: number
  /** SHA-256 of the object's bytes, hex. */
  readonly checksum: string
}

// bigint columns hold ms; ±Infinity in a query bound is clamped to the Date range.
const LIMIT = 8.64e15
const clamp = (ms: number) => Math.max(-LIMIT, Math.min(LIMIT, ms))

interface Row {
  key: string; kind: StorageKind; symbol: string; interval: string; period_from: number; period_to: number
  min_ms: number; max_ms: number; rows: number; bytes: number; checksum: string
}

const toObject = (r: Row): ColdObject => ({
  key: r.key, kind: r.kind, symbol: r.symbol, interval: r.interval, periodFrom: r.period_from, periodTo: r.period_to,
  minMs: r.min_ms, maxMs: r.max_ms, rows: r.rows, bytes: r.bytes, checksum: r.checksum
})

const COLUMNS = `key, kind, symbol, interval, period_from::float8 AS period_from, period_to::float8 AS period_to,
  min_ms::float8 AS min_ms, max_ms::float8 AS max_ms, rows::float8 AS rows, bytes::float8 AS bytes, checksum`

/**
 * Objects of a series that may hold rows with time in [from, to), in order of their first row.
 * Every cold read starts here, so the statement is prepared once per connection: an unprepared
 * query with parameters costs two round trips (describe, then execute), a prepared one one.
 */
export const objectsOverlapping = async (sql: Sql, lake: string, s: ColdSeries, from: number, to: number): Promise<ColdObject[]> =>
  (await sql.unsafe<Row[]>(
    `SELECT ${COLUMNS} FROM cold_objects
     WHERE lake = $1 AND kind = $2 AND symbol = $3 AND interval = $4 AND max_ms >= $5 AND min_ms < $6
     ORDER BY min_ms, key`, [lake, s.kind, s.symbol, s.interval, clamp(from), clamp(to)], { prepare: true })).map(toObject)

/** Every object of a lake (verify), or of one kind. */
export const allObjects = async (sql: Sql, lake: string): Promise<ColdObject[]> =>
  (await sql.unsafe<Row[]>(`SELECT ${COLUMNS} FROM cold_objects WHERE lake = $1 ORDER BY key`, [lake])).map(toObject)

/** The series of a kind with at least one object, optionally only of some symbols. */
export const coldSeries = async (sql: Sql, lake: string, kind: StorageKind, symbols?: readonly string[]): Promise<ColdSeries[]> => {
  const rows = symbols
    ? await sql<{ symbol: string; interval: string }[]>`
        SELECT DISTINCT symbol, interval FROM cold_objects
        WHERE lake = ${lake} AND kind = ${kind} AND symbol = ANY(${symbols as string[]}) ORDER BY symbol, interval`
    : await sql<{ symbol: string; interval: string }[]>`
        SELECT DISTINCT symbol, interval FROM cold_objects WHERE lake = ${lake} AND kind = ${kind} ORDER BY symbol, interval`
  return rows.map((r) => ({ kind, symbol: r.symbol, interval: r.interval }))
}

/** Periods holding more than one object, or an object of the earlier layout (compaction's work list). */
export const periodsToMerge = async (
  sql: Sql, lake: string
): Promise<(ColdSeries & { periodFrom: number; parts: number; legacy: boolean; maxMs: number })[]> =>
  (await sql<{ kind: StorageKind; symbol: string; interval: string; period_from: number; parts: number; legacy: boolean; max_ms: number }[]>`
    SELECT kind, symbol, interval, period_from::float8 AS period_from, count(*)::int AS parts,
           bool_or(key LIKE '%/data.parquet') AS legacy, max(max_ms)::float8 AS max_ms
    FROM cold_objects WHERE lake = ${lake}
    GROUP BY kind, symbol, interval, period_from
    HAVING count(*) > 1 OR bool_or(key LIKE '%/data.parquet')
    ORDER BY kind, symbol, interval, period_from`)
    .map((r) => ({ kind: r.kind, symbol: r.symbol, interval: r.interval, periodFrom: r.period_from, parts: r.parts, legacy: r.legacy, maxMs: r.max_ms }))

/** The objects of one period of a series. */
export const objectsOfPeriod = async (sql: Sql, lake: string, s: ColdSeries, periodFrom: number): Promise<ColdObject[]> =>
  (await sql.unsafe<Row[]>(
    `SELECT ${COLUMNS} FROM cold_objects
     WHERE lake = $1 AND kind = $2 AND symbol = $3 AND interval = $4 AND period_from = $5 ORDER BY min_ms, key`,
    [lake, s.kind, s.symbol, s.interval, periodFrom])).map(toObject)

/** Record keys about to be written, in their own committed statement (they survive a rollback or crash). */
export const markPending = async (sql: Sql, lake: string, s: ColdSeries, keys: readonly string[]): Promise<void> => {
  if (keys.length === 0) return
  const values = keys.map((key) => ({ lake, key, kind: s.kind, symbol: s.symbol, interval: s.interval }))
  await sql`INSERT INTO cold_pending ${sql(values, "lake", "key", "kind", "symbol", "interval")} ON CONFLICT DO NOTHING`
}

/**
 * Make `added` visible and `removed` invisible, in the caller's transaction: the one step
 * that changes what the cold tier holds. Removed keys become pending (deleted from the
 * store after the commit); added keys stop being pending.
 */
export const commitObjects = async (tx: Sql, lake: string, added: readonly ColdObject[], removed: readonly ColdObject[]): Promise<void> => {
  if (removed.length > 0) {
    const keys = removed.map((o) => o.key)
    const gone = await tx`DELETE FROM cold_objects WHERE lake = ${lake} AND key = ANY(${keys}) RETURNING key`
    if (gone.length !== keys.length) throw new Error(`manifest changed under a locked series: ${keys.length - gone.length} objects already gone`)
    await tx`INSERT INTO cold_pending ${tx(removed.map((o) => ({ lake, key: o.key, kind: o.kind, symbol: o.symbol, interval: o.interval })),
      "lake", "key", "kind", "symbol", "interval")} ON CONFLICT DO NOTHING`
  }
  if (added.length > 0) {
    const values = added.map((o) => ({
      lake, key: o.key, kind: o.kind, symbol: o.symbol, interval: o.interval, period_from: o.periodFrom, period_to: o.periodTo,
      min_ms: o.minMs, max_ms: o.maxMs, rows: o.rows, bytes: o.bytes, checksum: o.checksum
    }))
    await tx`INSERT INTO cold_objects ${tx(values, "lake", "key", "kind", "symbol", "interval", "period_from", "period_to",
      "min_ms", "max_ms", "rows", "bytes", "checksum")}`
    await tx`DELETE FROM cold_pending WHERE lake = ${lake} AND key = ANY(${added.map((o) => o.key)})`
  }
}

/** Pending keys of a series that no manifest row names (dead writers' objects, replaced objects). */
export const pendingOf = async (sql: Sql, lake: string, s?: ColdSeries): Promise<(ColdSeries & { key: string })[]> =>
  (s
    ? await sql<{ key: string; kind: StorageKind; symbol: string; interval: string }[]>`
        SELECT p.key, p.kind, p.symbol, p.interval FROM cold_pending p
        WHERE p.lake = ${lake} AND p.kind = ${s.kind} AND p.symbol = ${s.symbol} AND p.interval = ${s.interval}
          AND NOT EXISTS (SELECT 1 FROM cold_objects o WHERE o.lake = p.lake AND o.key = p.key)`
    : await sql<{ key: string; kind: StorageKind; symbol: string; interval: string }[]>`
        SELECT p.key, p.kind, p.symbol, p.interval FROM cold_pending p
        WHERE p.lake = ${lake} AND NOT EXISTS (SELECT 1 FROM cold_objects o WHERE o.lake = p.lake AND o.key = p.key)`
  ).map((r) => ({ key: r.key, kind: r.kind, symbol: r.symbol, interval: r.interval }))

export const dropPending = async (sql: Sql, lake: string, keys: readonly string[]): Promise<void> => {
  if (keys.length > 0) await sql`DELETE FROM cold_pending WHERE lake = ${lake} AND key = ANY(${keys as string[]})`
}

/** Forget manifest rows whose objects are gone from the store (verify's repair). */
export const forgetObjects = async (sql: Sql, lake: string, keys: readonly string[]): Promise<void> => {
  if (keys.length > 0) await sql`DELETE FROM cold_objects WHERE lake = ${lake} AND key = ANY(${keys as string[]})`
}
