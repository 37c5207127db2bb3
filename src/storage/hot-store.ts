/**
 * The hot tier: PostgreSQL tables of the public data contract (DESIGN §6), one per storage
 * kind, each keyed on its natural key, and the bulk write, ranged read and ranged delete
 * on them.
 * Writes are COPY: fresh bars straight into market_data (under a per-series lock, after
 * checking nothing can conflict), anything else into a session-local staging table then
 * `INSERT … SELECT … ON CONFLICT DO NOTHING`, which is what makes a write idempotent.
 * Does not decide which rows are hot (write-router.ts, tiering.ts).
 */
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import type { TransactionSql } from "postgres"
import type { Bar, RowsOf, StorageKind } from "../domain/rows.ts"
import { DAY_MS, MAX_EVENT_MS } from "../domain/time.ts"
import type { Sql } from "../services/postgres.ts"

type ColumnKind = "text" | "float8" | "int8" | "timestamptz" | "date"
interface HotColumn { readonly name: string; readonly type: ColumnKind }

export interface HotTable {
  readonly table: string
  readonly columns: readonly HotColumn[]
  readonly key: readonly string[]
  /** The column rows are routed, tiered and ordered by. */
  readonly time: string
  /** Whether the table has an `interval` column (bars only). */
  readonly hasInterval: boolean
}

const col = (name: string, type: ColumnKind): HotColumn => ({ name, type })

export const HOT_TABLES: { readonly [K in StorageKind]: HotTable } = {
  bars: {
    table: "market_data",
    columns: [
      col("symbol", "text"), col("interval", "text"), col("ts", "timestamptz"), col("open", "float8"),
      col("high", "float8"), col("low", "float8"), col("close", "float8"), col("volume", "float8"),
      col("vwap", "float8"), col("trades", "int8")
    ],
    key: ["symbol", "interval", "ts"], time: "ts", hasInterval: true
  },
  news: {
    table: "news",
    columns: [
      col("symbol", "text"), col("id", "text"), col("published_at", "timestamptz"), col("title", "text"),
      col("publisher", "text"), col("url", "text")
    ],
    key: ["symbol", "id"], time: "published_at", hasInterval: false
  },
  corporate_actions: {
    table: "corporate_actions",
    columns: [col("symbol", "text"), col("kind", "text"), col("ex_date", "date"), col("value", "float8")],
    key: ["symbol", "kind", "ex_date"], time: "ex_date", hasInterval: false
  },
  social_sentiment: {
    table: "social_sentiment",
    columns: [
      col("symbol", "text"), col("source", "text"), col("ts", "timestamptz"), col("score", "float8"),
      col("mentions", "int8")
    ],
    key: ["symbol", "source", "ts"], time: "ts", hasInterval: false
  }
}

const q = (name: string) => `"${name}"`

const SQL_TYPE: Record<ColumnKind, string> = {
  text: "text", float8: "double precision", int8: "bigint", timestamptz: "timestamptz", date: "date"
}

const tableDdl = (t: HotTable): string[] => [
  `CREATE TABLE IF NOT EXISTS ${t.table} (
     ${t.columns.map((c) => `${q(c.name)} ${SQL_TYPE[c.type]} NOT NULL`).join(",\n     ")},
     PRIMARY KEY (${t.key.map(q).join(", ")})
   )`,
  // Tiering and retention scan by time across symbols; the key index serves per-symbol reads.
  `CREATE INDEX IF NOT EXISTS ${t.table}_${t.time}_idx ON ${t.table} (${q(t.time)})`
]

/** Idempotent DDL of the hot tables. */
export const HOT_DDL: readonly string[] = Object.values(HOT_TABLES).flatMap(tableDdl)

// ---------------------------------------------------------------- write

// The staging table holds every number as double precision (times as ms), so COPY into
// it cannot fail on a value; conversion and checks happen in the INSERT. Converting ms in
// SQL is exact, and cheaper than formatting ISO strings per row.
const stageType = (c: HotColumn) => (c.type === "text" ? "text" : "double precision")
const fromStage = (c: HotColumn) => {
  if (c.type === "timestamptz") return `'epoch'::timestamptz + ${q(c.name)} * interval '1 millisecond'`
  if (c.type === "date") return `('epoch'::timestamp + ${q(c.name)} * interval '1 millisecond')::date`
  // A fractional count is refused rather than rounded silently.
  if (c.type === "int8") return `CASE WHEN ${q(c.name)} = trunc(${q(c.name)}) THEN ${q(c.name)}::bigint ELSE (${q(c.name)}::text || ' is not a whole number')::bigint END`
  return q(c.name)
}
const stageName = (t: HotTable) => `strata_stage_${t.table}`

const stageDdl = (t: HotTable) =>
  `CREATE TEMP TABLE IF NOT EXISTS ${stageName(t)} (${t.columns.map((c) => `${q(c.name)} ${stageType(c)}`).join(", ")}) ON COMMIT DELETE ROWS`

const insertSql = (t: HotTable) =>
  `INSERT INTO ${t.table} (${t.columns.map((c) => q(c.name)).join(", ")})
   SELECT ${t.columns.map(fromStage).join(", ")} FROM ${stageName(t)}
   ON CONFLICT DO NOTHING`

/** COPY text format: backslash, tab, newline and carriage return are escaped. */
const copyText = (v: unknown): string => {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity"
  const s = String(v)
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r")) : s
}

const CHUNK_ROWS = 2_000

function* copyChunks(t: HotTable, rows: readonly object[]): Generator<string> {
  const names = t.columns.map((c) => c.name)
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    let out = ""
    const end = Math.min(rows.length, i + CHUNK_ROWS)
    for (let j = i; j < end; j++) {
      const r = rows[j] as Record<string, unknown>
      let line = ""
      for (let k = 0; k < names.length; k++) line += (k === 0 ? "" : "\t") + copyText(r[names[k] as string])
      out += `${line}\n`
    }
    yield out
  }
}

/** Bars as COPY text for the keyed table itself: times as ISO-8601. */
function* barChunks(rows: readonly Bar[]): Generator<string> {
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    let out = ""
    const end = Math.min(rows.length, i + CHUNK_ROWS)
    for (let j = i; j < end; j++) {
      const b = rows[j] as Bar
      out += `${copyText(b.symbol)}\t${copyText(b.interval)}\t${new Date(b.ts).toISOString()}\t${copyText(b.open)}\t${copyText(b.high)}\t` +
        `${copyText(b.low)}\t${copyText(b.close)}\t${copyText(b.volume)}\t${copyText(b.vwap)}\t${b.trades}\n`
    }
    yield out
  }
}

const isNum = (v: unknown) => typeof v === "number"
/** Whether COPY into market_data cannot fail on a value of this bar. */
const copyableBar = (b: Bar) =>
  typeof b.symbol === "string" && typeof b.interval === "string" && Number.isSafeInteger(b.ts) && b.ts >= 0 && b.ts < MAX_EVENT_MS &&
  isNum(b.open) && isNum(b.high) && isNum(b.low) && isNum(b.close) && isNum(b.volume) && isNum(b.vwap) && Number.isSafeInteger(b.trades)

/**
 * Bars: lock each series of the batch (so no other writer inserts into it meanwhile) and,
 * when none of the batch's keys can be held yet — no internal duplicate, no stored row in
 * any series' time span, every value valid — COPY straight into market_data. Returns
 * undefined when the batch must take the staging path (the locks stay held till commit).
 */
const copyBarsDirect = async (tx: TransactionSql, rows: readonly Bar[]): Promise<number | undefined> => {
  const spans = new Map<string, { symbol: string; interval: string; min: number; max: number }>()
  for (const b of rows) {
    const k = `${b.symbol}|${b.interval}`
    const s = spans.get(k)
    if (!s) spans.set(k, { symbol: b.symbol, interval: b.interval, min: b.ts, max: b.ts })
    else {
      if (b.ts < s.min) s.min = b.ts
      if (b.ts > s.max) s.max = b.ts
    }
  }
  // Sorted, so two writers of overlapping series take the locks in the same order.
  for (const k of [...spans.keys()].sort()) await tx`SELECT pg_advisory_xact_lock(hashtext(${`hot|market_data|${k}`}))`
  if (!rows.every(copyableBar)) return undefined
  if (new Set(rows.map((b) => `${b.symbol}|${b.interval}|${b.ts}`)).size !== rows.length) return undefined
  for (const s of spans.values()) {
    const held = await tx.unsafe(
      `SELECT 1 FROM market_data WHERE symbol = $1 AND interval = $2
         AND ts BETWEEN 'epoch'::timestamptz + $3::bigint * interval '1 millisecond' AND 'epoch'::timestamptz + $4::bigint * interval '1 millisecond'
       LIMIT 1`, [s.symbol, s.interval, s.min, s.max])
    if (held.length > 0) return undefined
  }
  const writable = await tx.unsafe(`COPY market_data (${HOT_TABLES.bars.columns.map((c) => q(c.name)).join(", ")}) FROM STDIN`).writable()
  await pipeline(Readable.from(barChunks(rows)), writable)
  return rows.length
}

/**
 * Insert rows not held yet; returns how many were inserted. Idempotent on the natural key.
 * Fresh bars (the usual backfill) are COPYed straight into market_data; everything else
 * goes through the staging table. A COPY must never fail: a failed COPY never settles
 * postgres.js's writable (porsager/postgres#1173) and would hang the transaction. So the
 * direct COPY runs only once nothing can conflict, and the staging table takes any number:
 * a bad value (a fractional count, say) fails the INSERT with PostgreSQL's error instead.
 */
export const writeHot = async <K extends StorageKind>(sql: Sql, kind: K, rows: readonly RowsOf[K][]): Promise<number> => {
  if (rows.length === 0) return 0
  const t = HOT_TABLES[kind]
  return sql.begin(async (tx): Promise<number> => {
    if (kind === "bars") {
      const direct = await copyBarsDirect(tx, rows as readonly Bar[])
      if (direct !== undefined) return direct
    }
    await tx.unsafe(stageDdl(t))
    const writable = await tx.unsafe(`COPY ${stageName(t)} (${t.columns.map((c) => q(c.name)).join(", ")}) FROM STDIN`).writable()
    await pipeline(Readable.from(copyChunks(t, rows)), writable)
    const r = await tx.unsafe(insertSql(t))
    return r.count
  })
}

// ---------------------------------------------------------------- read and delete

/** One series of one kind: a symbol, and for bars an interval. */
export interface Series { readonly symbol: string; readonly interval: string }

const selectList = (t: HotTable) =>
  t.columns.map((c) => {
    if (c.type === "timestamptz" || c.type === "date") return `(extract(epoch from ${q(c.name)}) * 1000)::float8 AS ${q(c.name)}`
    // bigint comes back as a string by default; these counts fit a double exactly.
    if (c.type === "int8") return `${q(c.name)}::float8 AS ${q(c.name)}`
    return q(c.name)
  }).join(", ")

const timeParam = (t: HotTable, n: number) =>
  t.columns.find((c) => c.name === t.time)?.type === "date"
    ? `('epoch'::timestamp + $${n}::bigint * interval '1 millisecond')::date`
    : `'epoch'::timestamptz + $${n}::bigint * interval '1 millisecond'`

/**
 * A column of the table itself, for ORDER BY: there a bare name means the output column of
 * that name, and the select list turns times into ms (a computed value no index holds), so
 * ordering by it sorted every row of the range before a page's LIMIT; qualified, the order
 * is the primary key's and a page is an index range scan.
 */
const column = (t: HotTable, name: string) => `${t.table}.${q(name)}`

const seriesWhere = (t: HotTable) => {
  const n = t.hasInterval ? 3 : 2
  return `symbol = $1${t.hasInterval ? " AND interval = $2" : ""} AND ${q(t.time)} >= ${timeParam(t, n)} AND ${q(t.time)} < ${timeParam(t, n + 1)}`
}

// Infinite bounds ("everything") become far dates timestamptz can hold: 1900, and the end
// of the event-time range (no row is ever later).
const FAR_PAST_MS = Date.UTC(1900, 0, 1)
const clampMs = (ms: number) => Math.trunc(Math.max(FAR_PAST_MS, Math.min(ms, MAX_EVENT_MS)))

// A date column holds day starts: d ∈ [from, to) ⇔ ceilDay(from) ≤ d < ceilDay(to).
const bound = (t: HotTable, ms: number) => {
  const c = clampMs(ms)
  return t.columns.find((x) => x.name === t.time)?.type === "date" ? Math.ceil(c / DAY_MS) * DAY_MS : c
}

const params = (t: HotTable, s: Series, from: number, to: number) =>
  t.hasInterval ? [s.symbol, s.interval, bound(t, from), bound(t, to)] : [s.symbol, bound(t, from), bound(t, to)]

/** Rows of one series with time in [from, to), ordered by time then key. */
export const readHot = async <K extends StorageKind>(sql: Sql, kind: K, s: Series, from: number, to: number): Promise<RowsOf[K][]> => {
  const t = HOT_TABLES[kind]
  const order = [t.time, ...t.key.filter((k) => k !== t.time)].map((k) => column(t, k)).join(", ")
  return sql.unsafe<RowsOf[K][]>(`SELECT ${selectList(t)} FROM ${t.table} WHERE ${seriesWhere(t)} ORDER BY ${order}`, params(t, s, from, to))
}

/**
 * The same rows as readHot, lazily: keyset pages of `chunkRows` rows ordered by time, then
 * the rest of the natural key (byte order, as the read path compares keys), each page
 * starting after the last row of the one before, so each is an index range scan however
 * deep the read goes. With `after` (a row's time and its key columns), rows up to and
 * including that position are skipped. A consumer that stops early stops the queries.
 */
export async function* hotChunks<K extends StorageKind>(
  sql: Sql, kind: K, s: Series, from: number, to: number, chunkRows: number, after?: RowsOf[K]
): AsyncGenerator<RowsOf[K][]> {
  const t = HOT_TABLES[kind]
  const rest = t.key.filter((k) => k !== t.time && k !== "symbol" && k !== "interval")
  const byteOrder = (name: string) => (t.columns.find((c) => c.name === name)?.type === "text" ? `${column(t, name)} COLLATE "C"` : column(t, name))
  const order = [column(t, t.time), ...rest.map(byteOrder)].join(", ")
  const base = params(t, s, from, to)
  let last: Record<string, unknown> | undefined = after as Record<string, unknown> | undefined
  for (;;) {
    const values: unknown[] = [...base]
    let keyset = ""
    if (last !== undefined) {
      // (time, rest…) > (last's): time later, or the same time and a later rest of the key.
      values.push(clampMs(last[t.time] as number))
      const n = values.length
      let cond = ""
      for (let i = rest.length - 1; i >= 0; i--) {
        const name = rest[i] as string
        values.push(last[name])
        const v = `$${values.length}`
        cond = cond === "" ? `${byteOrder(name)} > ${v}` : `(${byteOrder(name)} > ${v} OR (${q(name)} = ${v} AND ${cond}))`
      }
      keyset = cond === ""
        ? ` AND ${q(t.time)} > ${timeParam(t, n)}`
        : ` AND (${q(t.time)} > ${timeParam(t, n)} OR (${q(t.time)} = ${timeParam(t, n)} AND ${cond}))`
    }
    values.push(chunkRows)
    // Prepared once per connection (two shapes: first page, later pages): every read of the
    // router starts with this query, and an unprepared one costs two round trips, not one.
    const rows = await sql.unsafe<(RowsOf[K] & Record<string, unknown>)[]>(
      `SELECT ${selectList(t)} FROM ${t.table} WHERE ${seriesWhere(t)}${keyset} ORDER BY ${order} LIMIT $${values.length}`,
      values as never[], { prepare: true })
    if (rows.length > 0) yield rows
    if (rows.length < chunkRows) return
    last = rows[rows.length - 1]
  }
}

/** Delete the rows of one series with time in [from, to); returns how many. */
export const deleteHot = async (sql: Sql, kind: StorageKind, s: Series, from: number, to: number): Promise<number> => {
  const t = HOT_TABLES[kind]
  const r = await sql.unsafe(`DELETE FROM ${t.table} WHERE ${seriesWhere(t)}`, params(t, s, from, to))
  return r.count
}

/** Count of rows of one series with time in [from, to) (tiering checks before deleting). */
export const countHot = async (sql: Sql, kind: StorageKind, s: Series, from: number, to: number): Promise<number> => {
  const t = HOT_TABLES[kind]
  const [r] = await sql.unsafe<[{ n: number }]>(`SELECT count(*)::int AS n FROM ${t.table} WHERE ${seriesWhere(t)}`, params(t, s, from, to))
  return r.n
}

/** Every series held hot with its oldest row time (tiering's work list). */
export const hotSeries = async (sql: Sql, kind: StorageKind): Promise<(Series & { oldest: number })[]> => {
  const t = HOT_TABLES[kind]
  return sql.unsafe<(Series & { oldest: number })[]>(
    `SELECT symbol, ${t.hasInterval ? "interval" : "''::text AS interval"}, (extract(epoch from min(${q(t.time)})) * 1000)::float8 AS oldest
     FROM ${t.table} GROUP BY 1, 2 ORDER BY 1, 2`
  )
}

/**
 * Delete the rows of one series with time in [from, to) and return them, in one statement:
 * inside a transaction the caller commits only once the rows are safe elsewhere.
 */
export const takeHot = async <K extends StorageKind>(sql: Sql, kind: K, s: Series, from: number, to: number): Promise<RowsOf[K][]> => {
  const t = HOT_TABLES[kind]
  return sql.unsafe<RowsOf[K][]>(`DELETE FROM ${t.table} WHERE ${seriesWhere(t)} RETURNING ${selectList(t)}`, params(t, s, from, to))
}

/** Time of the oldest row of one series in [from, to), undefined when none. */
export const firstHotTime = async (sql: Sql, kind: StorageKind, s: Series, from: number, to: number): Promise<number | undefined> => {
  const t = HOT_TABLES[kind]
  const [r] = await sql.unsafe<[{ t: number | null }?]>(
    `SELECT (extract(epoch from min(${q(t.time)})) * 1000)::float8 AS t FROM ${t.table} WHERE ${seriesWhere(t)}`, params(t, s, from, to))
  return r?.t ?? undefined
}
