/**
 * Read-path latency through the storage router (`bars`) for a one-year daily query and a
 * one-month 1-minute query, with the data hot only, cold only and split half/half, beside
 * the direct reads of the same data in the same run: a plain PostgreSQL query for the hot
 * part and hyparquet reading the known object files for the cold part (mixed: both).
 * Reported: the median of repeated queries (p50, ms) and the ratio router / direct
 * (lower is better). Goal: ≤ 2× the direct read. Cold objects are in a local lake.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { parquetReadObjects } from "hyparquet"
import type { Bar } from "../../src/domain/rows.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { migrate, openPostgres, type Sql } from "../../src/services/postgres.ts"
import { STORAGE_DDL, localObjectStore, writeCold, writeHot } from "../../src/storage/index.ts"
import { coldKeys } from "../../src/storage/cold-store.ts"
import { bufferOf } from "../../src/storage/parquet.ts"
import { bars } from "../../src/storage/read-router.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import type { BenchFigure, Scenario } from "../scenario.ts"

export const GOAL_FACTOR = 2

interface Case {
  readonly name: string
  readonly interval: "1day" | "1min"
  readonly from: number
  readonly to: number
  readonly rows: Bar[]
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/** Median ms of `repeats` runs of `fn` after one warm-up run. */
export const time = async (repeats: number, fn: () => Promise<unknown>): Promise<number> => {
  await fn() // warm-up: connections, page cache, JIT
  const samples: number[] = []
  for (let i = 0; i < repeats; i++) {
    const t = performance.now()
    await fn()
    samples.push(performance.now() - t)
  }
  return median(samples)
}

const directPg = (sql: Sql, symbol: string, interval: string, from: number, to: number) =>
  sql`SELECT symbol, interval, ts, open, high, low, close, volume, vwap, trades FROM market_data
      WHERE symbol = ${symbol} AND interval = ${interval} AND ts >= ${new Date(from)} AND ts < ${new Date(to)} ORDER BY ts`

const directParquet = async (lake: string, keys: readonly string[]) => {
  const out: unknown[] = []
  for (const k of keys) {
    const bytes = new Uint8Array(await readFile(join(lake, k)))
    out.push(...(await parquetReadObjects({ file: bufferOf(bytes) })))
  }
  return out
}

export const scenario: Scenario = {
  name: "storage-read",
  description: "bars() latency, 1 year daily and 1 month 1-minute, hot / cold / mixed, vs direct PostgreSQL and direct Parquet",
  run: async (ctx) => {
    const schema = `bench_storage_r_${process.pid}`
    const sql = openPostgres(ctx.databaseUrl, schema, 4)
    const lake = join(ctx.tmpDir, "lake")
    const store = localObjectStore(lake)
    const repeats = ctx.size === "tiny" ? 3 : 30
    const figures: BenchFigure[] = []
    try {
      await migrate(sql, schema, STORAGE_DDL)
      const yearFrom = Date.UTC(2023, 0, 1)
      const monthFrom = Date.UTC(2024, 2, 1)
      const cases: Case[] = [
        { name: "1y daily", interval: "1day", from: yearFrom, to: yearFrom + 365 * DAY_MS, rows: [] },
        { name: "1m 1-minute", interval: "1min", from: monthFrom, to: monthFrom + 31 * DAY_MS, rows: [] }
      ]
      for (const c of cases) {
        const count = Math.round((c.to - c.from) / (c.interval === "1day" ? DAY_MS : 60_000))
        const mid = c.from + Math.floor((c.to - c.from) / 2 / DAY_MS) * DAY_MS
        for (const layout of ["hot", "cold", "mixed"] as const) {
          const symbol = `R${layout.toUpperCase()}`
          const rows = sampleBars(symbol, c.interval, c.from, count)
          const hotRows = layout === "hot" ? rows : layout === "cold" ? [] : rows.filter((b) => b.ts >= mid)
          const coldRows = rows.filter((b) => !hotRows.includes(b))
          await writeHot(sql, "bars", hotRows)
          await writeCold({ sql, store }, "bars", coldRows)
          await sql`ANALYZE market_data`
          const keys = await coldKeys({ sql, store }, "bars", symbol, c.interval, c.from, c.to)
          const routed = await bars({ sql, store }, symbol, c.interval, c.from, c.to)
          if (routed.length !== rows.length) throw new Error(`${c.name} ${layout}: router returned ${routed.length} of ${rows.length} rows`)
          const viaRouter = await time(repeats, () => bars({ sql, store }, symbol, c.interval, c.from, c.to))
          const direct = await time(repeats, () => Promise.all([
            hotRows.length > 0 ? directPg(sql, symbol, c.interval, c.from, c.to) : Promise.resolve([]),
            keys.length > 0 ? directParquet(lake, keys) : Promise.resolve([])
          ]))
          const baselineName = layout === "hot" ? "direct PostgreSQL query" : layout === "cold" ? "direct Parquet read (hyparquet)" : "direct PostgreSQL + Parquet"
          const factor = viaRouter / direct
          figures.push({
            scenario: "storage-read", metric: `bars ${c.name} (${rows.length} rows), ${layout}, p50`,
            value: Number(viaRouter.toFixed(2)), unit: "ms",
            baseline: { name: baselineName, value: Number(direct.toFixed(2)) }, ratio: Number(factor.toFixed(2)),
            goal: `≤ ${GOAL_FACTOR}× the direct read (ratio = router / direct, lower is better)`, pass: factor <= GOAL_FACTOR
          })
          ctx.log(`${c.name} ${layout}: router ${viaRouter.toFixed(1)} ms, direct ${direct.toFixed(1)} ms`)
        }
      }
      return figures
    } finally {
      await store.close()
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
      await sql.end({ timeout: 2 })
    }
  }
}

export default scenario
