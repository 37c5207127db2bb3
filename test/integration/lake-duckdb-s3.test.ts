/**
 * DuckDB over a lake on S3 (the s3rver the tests start). DuckDB reads `s3://` and `http://`
 * only through its httpfs extension, which the npm package does not bundle and which DuckDB
 * downloads on first use; with no way to download it (this machine, CI), the test reads the
 * manifest's objects fetched through the S3 API into a folder, as a user without httpfs
 * would, and checks DuckDB's answer against the stored rows, per object and by glob. Where
 * httpfs is installed, a second test runs the documented `s3://` query against s3rver.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { mkdir, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api"
import { afterAll, beforeAll, expect, it } from "vitest"
import type { Bar } from "../../src/domain/rows.ts"
import { STORAGE_DDL, coldKeys, writeCold, type Lake } from "../../src/storage/index.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { S3RVER_CREDENTIALS, startS3, type TestS3 } from "../helpers/s3.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const PREFIX = "lake/"

let ns: TestNamespace
let s3: TestS3
let lake: Lake
let db: DuckDBInstance
let conn: DuckDBConnection
let folder: string

// Whether this machine's DuckDB has httpfs installed (decided before the tests are collected).
const httpfsInstalled = async (): Promise<boolean> => {
  const probe = await (await DuckDBInstance.create(":memory:")).connect()
  try {
    const r = await probe.runAndReadAll("SELECT installed FROM duckdb_extensions() WHERE extension_name = 'httpfs'")
    return r.getRows()[0]?.[0] === true
  } finally {
    probe.closeSync()
  }
}
const httpfs = await httpfsInstalled()

// Two months of hourly bars (one year object) and a day of 1-minute bars in each of three
// months (three month objects).
const hourly = sampleBars("AAPL", "1hour", Date.UTC(2024, 4, 1), 24 * 61)
const minute = [Date.UTC(2024, 0, 30), Date.UTC(2024, 1, 28), Date.UTC(2024, 2, 30)].flatMap((t) => sampleBars("AAPL", "1min", t, 1440))

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  s3 = await startS3()
  lake = { sql: ns.sql, store: s3.store(PREFIX) }
  await writeCold(lake, "bars", hourly)
  await writeCold(lake, "bars", minute)
  folder = mkdtempSync(join(tmpdir(), "strata-duckdb-s3-"))
  db = await DuckDBInstance.create(":memory:")
  conn = await db.connect()
  await conn.run("SET TimeZone = 'UTC'")
  // Never a download attempt from a test.
  await conn.run("SET autoinstall_known_extensions = false")
  if (httpfs) await conn.run("LOAD httpfs")
})

afterAll(async () => {
  conn?.closeSync()
  rmSync(folder, { recursive: true, force: true })
  await s3?.stop()
  await ns?.cleanup()
})

const BAR_COLUMNS = "symbol, interval, epoch_ms(ts) AS ts, open, high, low, close, volume, vwap, trades::DOUBLE AS trades"

const duckBars = async (source: string): Promise<Bar[]> => {
  const r = await conn.runAndReadAll(`SELECT ${BAR_COLUMNS} FROM read_parquet(${source}) ORDER BY ts`)
  return r.getRowObjects().map((o) => ({ ...o, ts: Number(o["ts"]) }) as unknown as Bar)
}

/** The manifest's objects of a series, fetched through the S3 API to the same keys under `folder`. */
const fetchSeries = async (interval: string): Promise<string[]> => {
  const paths: string[] = []
  for (const key of await coldKeys(lake, "bars", "AAPL", interval, -Infinity, Infinity)) {
    const bytes = await lake.store.get(key)
    if (!bytes) throw new Error(`${key}: listed in the manifest, not in the bucket`)
    const path = join(folder, key)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, bytes)
    paths.push(path)
  }
  return paths
}

it("DuckDB reads a lake on S3 exactly, from the manifest's objects fetched through the S3 API", async () => {
  const minuteFiles = await fetchSeries("1min")
  expect(minuteFiles).toHaveLength(3)
  expect(await duckBars(`[${minuteFiles.map((p) => `'${p}'`).join(", ")}]`)).toEqual(minute)
  await fetchSeries("1hour")
  // The per-series glob docs/storage.md documents, over the fetched copy.
  expect(await duckBars(`'${join(folder, "market_data/AAPL/1hour/*/part-*.parquet")}'`)).toEqual(hourly)
  expect(await duckBars(`'${join(folder, "market_data/AAPL/1min/2024/*/part-*.parquet")}'`)).toEqual(minute)
})

it.skipIf(!httpfs)("DuckDB with httpfs reads the lake on S3 in place (the documented s3:// query)", async () => {
  const endpoint = new URL(s3.endpoint)
  await conn.run(`CREATE OR REPLACE SECRET strata_lake (TYPE s3, KEY_ID '${S3RVER_CREDENTIALS.accessKeyId}',
    SECRET '${S3RVER_CREDENTIALS.secretAccessKey}', REGION 'us-east-1', ENDPOINT '${endpoint.host}', URL_STYLE 'path', USE_SSL false)`)
  expect(await duckBars(`'s3://${s3.bucket}/${PREFIX}market_data/AAPL/1min/2024/*/part-*.parquet'`)).toEqual(minute)
})
