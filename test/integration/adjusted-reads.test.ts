/**
 * Adjusted reads against real PostgreSQL and a lake folder, bars split over both tiers:
 * a 4:1 split recorded after the bars were stored changes `adjust=splits` reads (prices
 * / 4 and volume × 4 before the ex-date) without a stored bar or object being rewritten;
 * a cash dividend held cold adjusts `adjust=all` by 1 − dividend / close before the
 * ex-date; `/api/bars` pages the same with adjustment as without (seeded page sizes), and
 * `adjust=none` answers exactly the raw read; `strata query --adjust` prints the same.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { prng } from "../../fixtures/workload.ts"
import type { Bar, CorporateAction } from "../../src/domain/rows.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { startApiServer } from "../../src/http/api-bars.ts"
import { STORAGE_DDL, localObjectStore, readHot, writeCold, writeHot, writeRows, type ObjectStore } from "../../src/storage/index.ts"
import { bars } from "../../src/storage/read-router.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { runStrata } from "../helpers/cli.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2024, 0, 1)
const daily = sampleBars("AAPL", "1day", T0, 120)
const HOT_FROM = Date.UTC(2024, 2, 1)
const SPLIT_DAY = Date.UTC(2024, 2, 11) // hot side
const DIVIDEND_DAY = Date.UTC(2024, 1, 5) // cold side
const FROM = T0
const TO = T0 + 120 * DAY_MS

let ns: TestNamespace
let store: ObjectStore
let api: Awaited<ReturnType<typeof startApiServer>>

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  store = localObjectStore(ns.config.storage.lake)
  await writeRows({ sql: ns.sql, store }, "bars", daily, HOT_FROM)
  api = await startApiServer({ sql: ns.sql, store })
})

afterAll(async () => {
  await api?.close()
  await ns?.cleanup()
})

const page = async (params: Record<string, string | number>) => {
  const qs = new URLSearchParams(Object.entries({ symbol: "AAPL", interval: "1day", from: FROM, to: TO, ...params }).map(([k, v]) => [k, String(v)]))
  const res = await fetch(`http://127.0.0.1:${api.port}/api/bars?${qs}`)
  return { status: res.status, body: (await res.json()) as { bars: Bar[]; next: string | null; adjust?: string; error?: string } }
}

/** Every page of a read, following `next`, with the page size drawn from `rand`. */
const allPages = async (params: Record<string, string>, rand: () => number) => {
  const out: Bar[] = []
  const tokens: (string | null)[] = []
  let next: string | null = null
  do {
    const p = await page({ ...params, limit: 1 + Math.floor(rand() * 25), ...(next ? { next } : {}) })
    expect(p.status).toBe(200)
    out.push(...p.body.bars)
    tokens.push(p.body.next)
    next = p.body.next
  } while (next !== null)
  return { bars: out, pages: tokens.length }
}

const storedState = async () => ({
  hot: await readHot(ns.sql, "bars", { symbol: "AAPL", interval: "1day" }, FROM, TO),
  objects: await Promise.all((await store.list("market_data/")).map(async (k) => [k, Buffer.from((await store.get(k)) ?? []).toString("base64")]))
})

const splitAdjusted = (b: Bar, ratio: number): Bar =>
  b.ts < SPLIT_DAY ? { ...b, open: b.open / ratio, high: b.high / ratio, low: b.low / ratio, close: b.close / ratio, vwap: b.vwap / ratio, volume: b.volume * ratio } : b

it("a split recorded later changes adjusted reads, pages included, without rewriting stored bars", async () => {
  const raw = await bars({ sql: ns.sql, store }, "AAPL", "1day", FROM, TO)
  expect(raw).toEqual(daily)
  const stored = await storedState()
  // No action yet: adjusted equals raw.
  expect((await allPages({ adjust: "splits" }, prng(1))).bars).toEqual(raw)

  const split: CorporateAction = { symbol: "AAPL", kind: "split", ex_date: SPLIT_DAY, value: 4 }
  await writeHot(ns.sql, "corporate_actions", [split])
  const rand = prng(2)
  const adjusted = await allPages({ adjust: "splits" }, rand)
  expect(adjusted.pages).toBeGreaterThan(3)
  expect(adjusted.bars).toEqual(raw.map((b) => splitAdjusted(b, 4)))
  // The stored bars are untouched: same hot rows, same objects byte for byte.
  expect(await storedState()).toEqual(stored)

  // adjust=none is the raw read, whatever the page sizes.
  for (const seed of [3, 4, 5]) expect((await allPages({ adjust: "none" }, prng(seed))).bars).toEqual(raw)
  expect((await allPages({}, prng(6))).bars).toEqual(raw)

  const bad = await page({ adjust: "dividends" })
  expect(bad.status).toBe(400)
  expect(bad.body.error).toContain("adjust: expected one of none, splits, all")
})

it("a cash dividend held cold adjusts prices before its ex-date by 1 - dividend / close before it", async () => {
  const dividend: CorporateAction = { symbol: "AAPL", kind: "dividend", ex_date: DIVIDEND_DAY, value: 0.8 }
  await writeCold({ sql: ns.sql, store }, "corporate_actions", [dividend])
  const closeBefore = daily.filter((b) => b.ts < DIVIDEND_DAY).at(-1)!.close
  const f = 1 - 0.8 / closeBefore
  const { bars: out } = await allPages({ adjust: "all" }, prng(7))
  expect(out).toHaveLength(daily.length)
  out.forEach((b, i) => {
    const want = splitAdjusted(daily[i]!, 4)
    const g = b.ts < DIVIDEND_DAY ? f : 1
    for (const k of ["open", "high", "low", "close", "vwap"] as const) expect(b[k]).toBeCloseTo(want[k] * g, 9)
    expect(b.volume).toBeCloseTo(want.volume, 9)
    expect(b.ts).toBe(want.ts)
  })
  // splits ignores the dividend.
  expect((await allPages({ adjust: "splits" }, prng(8))).bars).toEqual(daily.map((b) => splitAdjusted(b, 4)))
})

it("strata query --adjust prints the adjusted bars and rejects a bad mode", async () => {
  const env = { ...ns.env, LOG_LEVEL: "silent" }
  const args = ["query", "bars", "--symbol", "AAPL", "--interval", "1day", "--from", String(FROM), "--to", String(TO), "--format", "json"]
  const splits = await runStrata(env, [...args, "--adjust", "splits"])
  expect(splits.code, splits.err).toBe(0)
  expect(JSON.parse(splits.out)).toEqual(daily.map((b) => splitAdjusted(b, 4)))
  const bad = await runStrata(env, [...args, "--adjust", "total"])
  expect(bad.code).toBe(2)
  expect(bad.err).toContain("--adjust: expected one of none, splits, all")
  const news = await runStrata(env, ["query", "news", "--symbol", "AAPL", "--adjust", "splits"])
  expect(news.code).toBe(2)
  expect(news.err).toContain("--adjust: only bars are adjusted")
})
