/**
 * Cold objects are plain Parquet that DuckDB, an independent reader, reads exactly: column
 * types (ts as a UTC timestamp), the documented globs over the lake and the manifest's
 * file list, before, during and after a migration from the earlier per-day layout.
 * (Local folder only: DuckDB's S3 reader is an extension it would download.)
 */
import { join } from "node:path"
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api"
import { afterAll, beforeAll, expect, it } from "vitest"
import { writeLegacyCold } from "../../bench/lib/legacy-lake.ts"
import type { Bar } from "../../src/domain/rows.ts"
import { compactPeriod } from "../../src/storage/compaction.ts"
import { STORAGE_DDL, coldKeys, localObjectStore, readCold, writeCold, type Lake } from "../../src/storage/index.ts"
import { adoptObjects, migrateLake } from "../../src/storage/lake.ts"
import { periodSpan } from "../../src/storage/layout.ts"
import { sampleBars, sampleNews } from "../../fixtures/sample-rows.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

let ns: TestNamespace
let lake: Lake
let db: DuckDBInstance
let conn: DuckDBConnection

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  lake = { sql: ns.sql, store: localObjectStore(ns.config.storage.lake) }
  db = await DuckDBInstance.create(":memory:")
  conn = await db.connect()
  await conn.run("SET TimeZone = 'UTC'")
})

afterAll(async () => {
  conn?.closeSync()
  await ns?.cleanup()
})

const BAR_COLUMNS = "symbol, interval, epoch_ms(ts) AS ts, open, high, low, close, volume, vwap, trades::DOUBLE AS trades"

/** What DuckDB reads from `source` (a quoted glob or a list of quoted paths), in time order. */
const duckBars = async (source: string): Promise<Bar[]> => {
  const r = await conn.runAndReadAll(`SELECT ${BAR_COLUMNS} FROM read_parquet(${source}) ORDER BY ts`)
  return r.getRowObjects().map((o) => ({ ...o, ts: Number(o["ts"]) }) as unknown as Bar)
}

const glob = (pattern: string) => `'${join(lake.store.location, pattern)}'`

it("DuckDB reads the same bars and news the cold store wrote, with the documented types", async () => {
  const bars = sampleBars("AAPL", "1hour", Date.UTC(2024, 4, 1), 24 * 31)
  const news = sampleNews("AAPL", Date.UTC(2024, 4, 1), Date.UTC(2024, 4, 31), 25).sort((a, b) => a.published_at - b.published_at)
  const w = await writeCold(lake, "bars", bars)
  await writeCold(lake, "news", news)
  expect(w.objects).toEqual([expect.stringMatching(/^market_data\/AAPL\/1hour\/2024\/part-[0-9a-f]+\.parquet$/)])
  const types = await conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${glob(w.objects[0]!)}))`)
  expect(Object.fromEntries(types.getRows() as [string, string][])).toMatchObject({
    symbol: "VARCHAR", interval: "VARCHAR", ts: "TIMESTAMP WITH TIME ZONE", open: "DOUBLE", trades: "BIGINT"
  })
  // The glob docs/storage.md documents for one series.
  expect(await duckBars(glob("market_data/AAPL/1hour/*/part-*.parquet"))).toEqual(bars)
  const n = await conn.runAndReadAll(
    `SELECT symbol, id, epoch_ms(published_at) AS published_at, title, publisher, url
     FROM read_parquet(${glob("news/AAPL/*/part-*.parquet")}) ORDER BY published_at`)
  expect(n.getRowObjects().map((o) => ({ ...o, published_at: Number(o["published_at"]) }))).toEqual(news)
})

it("returns exactly the stored rows over both layouts before, during and after a migration", async () => {
  const minute = sampleBars("MSFT", "1min", Date.UTC(2024, 1, 27), 5 * 1440) // Feb 27 – Mar 2: two months
  const daily = sampleBars("MSFT", "1day", Date.UTC(2022, 10, 1), 500)
  await writeLegacyCold(lake.store, "bars", minute)
  await writeLegacyCold(lake.store, "bars", daily)
  const both = `[${glob("market_data/MSFT/1min/**/*.parquet")}]`
  const check = async () => {
    expect(await duckBars(both)).toEqual(minute)
    expect(await duckBars(glob("market_data/MSFT/1day/**/*.parquet"))).toEqual(daily)
    // The manifest's files for the series, as `strata lake files` prints them.
    const files = await coldKeys(lake, "bars", "MSFT", "1min", -Infinity, Infinity)
    if (files.length > 0) expect(await duckBars(`[${files.map((k) => glob(k)).join(", ")}]`)).toEqual(minute)
  }
  await check()
  // Adopted: the router reads the earlier objects through the manifest.
  await adoptObjects(lake)
  expect(await readCold(lake, "bars", "MSFT", "1min", -Infinity, Infinity)).toEqual(minute)
  // Half-way: February rewritten as one part, March still per day.
  expect(await compactPeriod(lake, { kind: "bars", symbol: "MSFT", interval: "1min" }, periodSpan("bars", "1min", minute[0]!.ts).from)).toBe(3)
  await check()
  expect(await readCold(lake, "bars", "MSFT", "1min", -Infinity, Infinity)).toEqual(minute)
  const report = await migrateLake(lake)
  expect(report.compaction.periods).toBeGreaterThan(0)
  await check()
  expect((await lake.store.list("market_data/MSFT/")).filter((k) => k.endsWith("/data.parquet"))).toEqual([])
  expect(await readCold(lake, "bars", "MSFT", "1day", -Infinity, Infinity)).toEqual(daily)
})
