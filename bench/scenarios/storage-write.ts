/**
 * Storage write throughput: hot rows/s through `writeHot` (COPY into a staging table, then
 * INSERT … ON CONFLICT DO NOTHING) beside a raw COPY straight into an identical keyed
 * table, and cold rows/s through `writeCold` (grouping into objects, read-merge, Parquet,
 * fsync + rename) beside raw hyparquet-writer writing the same objects with writeFile.
 * Same rows, same batches, same run; each side measured twice, interleaved, best kept.
 * Also printed: the rate of a retried batch whose rows are all held already (the staging
 * + ON CONFLICT path), which has no goal.
 * Goal: ≥ 60% of each baseline.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { parquetWriteBuffer } from "hyparquet-writer"
import type { Bar } from "../../src/domain/rows.ts"
import { migrate, openPostgres, type Sql } from "../../src/services/postgres.ts"
import { STORAGE_DDL, localObjectStore, writeCold, writeHot } from "../../src/storage/index.ts"
import { groupByPeriod } from "../../src/storage/cold-store.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import type { BenchContext, BenchFigure, Scenario } from "../scenario.ts"

export const GOAL_RATIO = 0.6
const BATCH = 50_000

const rowsFor = (size: BenchContext["size"], tag: string): Bar[] => {
  const perSymbol = size === "tiny" ? 2_000 : 250_000
  return ["A", "B"].flatMap((s) => sampleBars(`${tag}${s}`, "1min", Date.UTC(2023, 0, 2), perSymbol))
}

const batches = <T>(rows: readonly T[]): T[][] => {
  const out: T[][] = []
  for (let i = 0; i < rows.length; i += BATCH) out.push(rows.slice(i, i + BATCH))
  return out
}

const rate = async (rows: number, fn: () => Promise<void>): Promise<number> => {
  const started = performance.now()
  await fn()
  return rows / ((performance.now() - started) / 1000)
}

/** Raw COPY: the rows as COPY text (ISO times) straight into a keyed table. */
const rawCopy = async (sql: Sql, table: string, rows: readonly Bar[]): Promise<void> => {
  for (const batch of batches(rows)) {
    const w = await sql.unsafe(`COPY ${table} (symbol, interval, ts, open, high, low, close, volume, vwap, trades) FROM STDIN`).writable()
    const lines = function* () {
      for (let i = 0; i < batch.length; i += 2_000) {
        let out = ""
        for (const b of batch.slice(i, i + 2_000)) {
          out += `${b.symbol}\t${b.interval}\t${new Date(b.ts).toISOString()}\t${b.open}\t${b.high}\t${b.low}\t${b.close}\t${b.volume}\t${b.vwap}\t${b.trades}\n`
        }
        yield out
      }
    }
    await pipeline(Readable.from(lines()), w)
  }
}

/** Raw hyparquet-writer: one file per object, columns typed by the writer, plain writeFile. */
const rawParquet = (root: string, rows: readonly Bar[]): void => {
  for (const [key, group] of groupByPeriod("bars", rows)) {
    const path = join(root, `${key.split("|").join("/")}.parquet`)
    mkdirSync(dirname(path), { recursive: true })
    const buf = parquetWriteBuffer({
      columnData: [
        { name: "symbol", data: group.map((b) => b.symbol), type: "STRING" },
        { name: "interval", data: group.map((b) => b.interval), type: "STRING" },
        { name: "ts", data: group.map((b) => BigInt(b.ts)), type: "INT64" },
        { name: "open", data: Float64Array.from(group, (b) => b.open), type: "DOUBLE" },
        { name: "high", data: Float64Array.from(group, (b) => b.high), type: "DOUBLE" },
        { name: "low", data: Float64Array.from(group, (b) => b.low), type: "DOUBLE" },
        { name: "close", data: Float64Array.from(group, (b) => b.close), type: "DOUBLE" },
        { name: "volume", data: Float64Array.from(group, (b) => b.volume), type: "DOUBLE" },
        { name: "vwap", data: Float64Array.from(group, (b) => b.vwap), type: "DOUBLE" },
        { name: "trades", data: group.map((b) => BigInt(b.trades)), type: "INT64" }
      ]
    })
    writeFileSync(path, new Uint8Array(buf))
  }
}

const figure = (metric: string, value: number, baseline: string, base: number): BenchFigure => ({
  scenario: "storage-write", metric, value: Math.round(value), unit: "rows/s",
  baseline: { name: baseline, value: Math.round(base) }, ratio: value / base,
  goal: `≥ ${GOAL_RATIO * 100}% of ${baseline}`, pass: value / base >= GOAL_RATIO
})

export const scenario: Scenario = {
  name: "storage-write",
  description: "hot rows/s (writeHot) vs raw COPY, cold rows/s (writeCold) vs raw hyparquet-writer",
  run: async (ctx) => {
    const schema = `bench_storage_w_${process.pid}`
    const sql = openPostgres(ctx.databaseUrl, schema, 4)
    try {
      await migrate(sql, schema, [...STORAGE_DDL, "CREATE TABLE IF NOT EXISTS raw_market_data (LIKE market_data INCLUDING ALL)"])
      let hot = 0
      let copy = 0
      let cold = 0
      let raw = 0
      let again = 0
      for (const round of [1, 2]) {
        const rows = rowsFor(ctx.size, `H${round}`)
        copy = Math.max(copy, await rate(rows.length, () => rawCopy(sql, "raw_market_data", rows)))
        hot = Math.max(hot, await rate(rows.length, async () => {
          for (const b of batches(rows)) await writeHot(sql, "bars", b)
        }))
        // A retried batch: every row already held, so the staging + ON CONFLICT path runs.
        again = Math.max(again, await rate(rows.length, async () => {
          for (const b of batches(rows)) await writeHot(sql, "bars", b)
        }))
        const store = localObjectStore(join(ctx.tmpDir, `lake-${round}`))
        cold = Math.max(cold, await rate(rows.length, async () => {
          for (const b of batches(rows)) await writeCold({ sql, store }, "bars", b)
        }))
        raw = Math.max(raw, await rate(rows.length, async () => {
          for (const b of batches(rows)) rawParquet(join(ctx.tmpDir, `raw-${round}`), b)
        }))
        ctx.log(`round ${round}: hot ${Math.round(hot)} vs COPY ${Math.round(copy)}, cold ${Math.round(cold)} vs hyparquet ${Math.round(raw)} rows/s`)
      }
      return [
        figure("hot rows/s (writeHot, 1min bars)", hot, "raw COPY", copy),
        { ...figure("hot rows/s, retried batch (all rows held)", again, "raw COPY", copy), goal: "informative: the idempotent path", pass: true },
        figure("cold rows/s (writeCold, 1min bars)", cold, "raw hyparquet-writer", raw)
      ]
    } finally {
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
      await sql.end({ timeout: 2 })
    }
  }
}

export default scenario
