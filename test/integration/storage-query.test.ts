/**
 * The read path's surfaces: `strata query` as a real process (table, CSV, JSON) and
 * `GET /api/bars` over HTTP, both answering from hot and cold together.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, expect, it } from "vitest"
import { startApiServer } from "../../src/http/api-bars.ts"
import { STORAGE_DDL, localObjectStore, writeRows, type ObjectStore } from "../../src/storage/index.ts"
import { sampleBars, sampleNews } from "../../fixtures/sample-rows.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const T0 = Date.UTC(2024, 0, 1)
const daily = sampleBars("AAPL", "1day", T0, 120)
const HOT_FROM = Date.UTC(2024, 2, 1)

let ns: TestNamespace
let store: ObjectStore
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  // The namespace's own data folder holds its lake; child processes find it through STRATA_DATA_DIR.
  store = localObjectStore(ns.config.storage.lake)
  env = { ...ns.env, LOG_LEVEL: "silent" }
  await writeRows({ sql: ns.sql, store }, "bars", daily, HOT_FROM)
  await writeRows({ sql: ns.sql, store }, "news", sampleNews("AAPL", T0, T0 + 60 * 86_400_000, 5), HOT_FROM)
})

afterAll(async () => {
  await ns?.cleanup()
})

const strata = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, env, encoding: "utf8" })

it("strata query prints bars from both tiers as JSON, CSV and a table", () => {
  const range = ["--symbol", "aapl", "--interval", "1day", "--from", "2024-02-15", "--to", "2024-03-15"]
  const expected = daily.filter((b) => b.ts >= Date.UTC(2024, 1, 15) && b.ts < Date.UTC(2024, 2, 15))
  const asJson = strata("query", "bars", ...range, "--format", "json")
  expect(asJson.status, asJson.stderr).toBe(0)
  expect(JSON.parse(asJson.stdout)).toEqual(expected)

  const csv = strata("query", "bars", ...range, "--format", "csv").stdout.trim().split("\n")
  expect(csv[0]).toBe("symbol,interval,ts,open,high,low,close,volume,vwap,trades")
  expect(csv).toHaveLength(expected.length + 1)
  expect(csv[1]).toBe(["AAPL", "1day", "2024-02-15T00:00:00.000Z", ...[expected[0]!.open, expected[0]!.high, expected[0]!.low,
    expected[0]!.close, expected[0]!.volume, expected[0]!.vwap, expected[0]!.trades].map(String)].join(","))

  const table = strata("query", "bars", ...range).stdout
  expect(table).toContain("2024-03-14T00:00:00.000Z")
  expect(table.trim().endsWith(`(${expected.length} rows)`)).toBe(true)

  const news = strata("query", "news", "--symbol", "AAPL", "--from", "2024-01-01", "--to", "2024-04-01", "--format", "csv")
  // Titles with quotes, commas and newlines stay one CSV field each.
  expect(news.stdout).toContain('"AAPL item 0\twith ""quotes"",\nand a \\ backslash"')

  const bad = strata("query", "bars", "--symbol", "AAPL", "--interval", "2min")
  expect(bad.status).toBe(2)
  expect(bad.stderr).toMatch(/--interval: expected one of 1day, 1hour, 5min, 1min, tick/)
  // Five CLI processes, each starting tsx: a loaded machine needs minutes, not seconds.
}, 300_000)

it("GET /api/bars answers from both tiers and names a bad parameter", async () => {
  const api = await startApiServer({ sql: ns.sql, store })
  try {
    const base = `http://127.0.0.1:${api.port}/api/bars`
    const from = Date.UTC(2024, 1, 20)
    const to = Date.UTC(2024, 2, 10)
    const r = await fetch(`${base}?symbol=AAPL&interval=1day&from=${from}&to=2024-03-10`)
    expect(r.status).toBe(200)
    const body = (await r.json()) as { count: number; bars: unknown[]; from: number; to: number }
    const expected = daily.filter((b) => b.ts >= from && b.ts < to)
    expect(body).toEqual({ symbol: "AAPL", interval: "1day", from, to, limit: 10_000, adjust: "none", count: expected.length, bars: expected, next: null })
    const bad = await fetch(`${base}?symbol=AAPL&interval=1day&from=yesterday`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/^from: expected ms/)
    expect((await fetch(`http://127.0.0.1:${api.port}/other`)).status).toBe(404)
  } finally {
    await api.close()
  }
})
