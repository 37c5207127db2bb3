/**
 * Cold objects are plain Parquet: DuckDB, an independent reader, reads an object written
 * by the cold store and gets the same rows, with `ts` as a UTC timestamp.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, expect, it } from "vitest"
import { localObjectStore, writeCold } from "../../src/storage/index.ts"
import { sampleBars, sampleNews } from "../../fixtures/sample-rows.ts"

const dir = mkdtempSync(join(tmpdir(), "strata-lake-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

it("DuckDB reads the same bars and news the cold store wrote", async () => {
  const store = localObjectStore(dir)
  const bars = sampleBars("AAPL", "1hour", Date.UTC(2024, 4, 1), 24 * 31)
  const news = sampleNews("AAPL", Date.UTC(2024, 4, 1), Date.UTC(2024, 4, 31), 25).sort((a, b) => a.published_at - b.published_at)
  const w = await writeCold(store, "bars", bars)
  await writeCold(store, "news", news)
  expect(w.objects).toEqual(["market_data/AAPL/1hour/2024/05/data.parquet"])
  const db = await DuckDBInstance.create(":memory:")
  const conn = await db.connect()
  try {
    await conn.run("SET TimeZone = 'UTC'")
    const barsPath = join(dir, "market_data/AAPL/1hour/2024/05/data.parquet")
    const types = await conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${barsPath}'))`)
    expect(Object.fromEntries(types.getRows() as [string, string][])).toMatchObject({
      symbol: "VARCHAR", interval: "VARCHAR", ts: "TIMESTAMP WITH TIME ZONE", open: "DOUBLE", trades: "BIGINT"
    })
    const r = await conn.runAndReadAll(
      `SELECT symbol, interval, epoch_ms(ts) AS ts, open, high, low, close, volume, vwap, trades::DOUBLE AS trades
       FROM read_parquet('${barsPath}') ORDER BY ts`)
    const got = r.getRowObjects().map((o) => ({ ...o, ts: Number(o["ts"]) }))
    expect(got).toEqual(bars)
    const n = await conn.runAndReadAll(
      `SELECT symbol, id, epoch_ms(published_at) AS published_at, title, publisher, url
       FROM read_parquet('${join(dir, "news/AAPL/2024/05/data.parquet")}') ORDER BY published_at`)
    expect(n.getRowObjects().map((o) => ({ ...o, published_at: Number(o["published_at"]) }))).toEqual(news)
  } finally {
    conn.closeSync()
  }
})
