/**
 * The storage write path against real servers: hot tables in PostgreSQL (COPY, idempotent),
 * cold Parquet objects in a local folder and in s3rver (same objects, re-runs add
 * nothing), the coverage ledger, and routing by the hot window.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { naturalKey } from "../../src/domain/rows.ts"
import type { RowsOf, StorageKind } from "../../src/domain/rows.ts"
import { migrate } from "../../src/services/postgres.ts"
import {
  STORAGE_DDL, clearCoverage, coverageByTier, coveredRanges, localObjectStore, readCold, readHot, recordCoverage,
  retierCoverage, writeCold, writeHot, writeRows, type ObjectStore
} from "../../src/storage/index.ts"
import { sampleActions, sampleBars, sampleNews, sampleSentiment } from "../../fixtures/sample-rows.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import type { Lake } from "../../src/storage/cold-store.ts"
import { startS3, type TestS3 } from "../helpers/s3.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const DAY = 86_400_000
const T0 = Date.UTC(2024, 0, 1)
const ALL = { from: -Infinity, to: Infinity }

const sortByKey = <K extends StorageKind>(kind: K, rows: readonly RowsOf[K][]) => {
  const key = naturalKey[kind] as (r: RowsOf[K]) => string
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

const objectsOfLake = (l: Lake) => allObjects(l.sql, l.store.location)

let ns: TestNamespace
let s3: TestS3
let local: ObjectStore

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  await migrate(ns.sql, ns.schema, STORAGE_DDL) // idempotent
  s3 = await startS3()
  local = localObjectStore(ns.config.storage.lake)
})

afterAll(async () => {
  await s3?.stop()
  await ns?.cleanup()
})

describe("hot store", () => {
  it("writes each kind through COPY, reads it back exactly, and is idempotent", async () => {
    const bars = sampleBars("AAPL", "1min", T0, 3_000)
    expect(await writeHot(ns.sql, "bars", bars)).toBe(3_000)
    expect(await writeHot(ns.sql, "bars", bars)).toBe(0)
    expect(await writeHot(ns.sql, "bars", [...bars.slice(0, 10), ...sampleBars("AAPL", "1min", T0 + 3_000 * 60_000, 5)])).toBe(5)
    const back = await readHot(ns.sql, "bars", { symbol: "AAPL", interval: "1min" }, T0, T0 + 10 * DAY)
    expect(back).toEqual([...bars, ...sampleBars("AAPL", "1min", T0 + 3_000 * 60_000, 5)])

    const news = sampleNews("AAPL", T0, T0 + 30 * DAY, 50)
    expect(await writeHot(ns.sql, "news", [...news, ...news])).toBe(50)
    expect(sortByKey("news", await readHot(ns.sql, "news", { symbol: "AAPL", interval: "" }, T0, T0 + 30 * DAY)))
      .toEqual(sortByKey("news", news))

    const actions = sampleActions("AAPL", T0, T0 + 3650 * DAY)
    expect(await writeHot(ns.sql, "corporate_actions", actions)).toBe(actions.length)
    expect(await readHot(ns.sql, "corporate_actions", { symbol: "AAPL", interval: "" }, T0, T0 + 3650 * DAY)).toEqual(actions)
    // A date column bounded mid-day: the action on day T0 is before T0 + 1h.
    expect((await readHot(ns.sql, "corporate_actions", { symbol: "AAPL", interval: "" }, T0 + 3_600_000, T0 + 91 * DAY)).length).toBe(1)

    const sentiment = sampleSentiment("AAPL", T0, T0 + 2 * DAY)
    expect(await writeHot(ns.sql, "social_sentiment", sentiment)).toBe(48)
    expect(await readHot(ns.sql, "social_sentiment", { symbol: "AAPL", interval: "" }, ALL.from, ALL.to)).toEqual(sentiment)
  })
})

describe("hot store concurrency", () => {
  it("concurrent writers of the same fresh and overlapping batches insert each row once, without hanging", async () => {
    const a = sampleBars("CONC", "5min", T0, 2_000)
    const b = sampleBars("CONC", "5min", T0 + 1_000 * 300_000, 2_000)
    const counts = await Promise.all([writeHot(ns.sql, "bars", a), writeHot(ns.sql, "bars", a), writeHot(ns.sql, "bars", b)])
    expect(counts.reduce((x, y) => x + y, 0)).toBe(3_000)
    expect(await readHot(ns.sql, "bars", { symbol: "CONC", interval: "5min" }, ALL.from, ALL.to)).toHaveLength(3_000)
  })
})

describe("hot store errors", () => {
  it("refuses a bad value with PostgreSQL's error, without hanging or leaking the connection", async () => {
    const [bar] = sampleBars("BAD", "1day", T0, 1)
    await expect(writeHot(ns.sql, "bars", [{ ...bar!, trades: 12.5 }])).rejects.toThrow(/12\.5 is not a whole number/)
    expect(await writeHot(ns.sql, "bars", [bar!])).toBe(1)
  })
})

describe("object stores", () => {
  it("local folder and S3 behave alike: whole puts, explicit ranges, listing, deletes", async () => {
    for (const store of [local, s3.store("x/")]) {
      const bytes = new Uint8Array(1000).map((_, i) => i % 251)
      await store.put("a/b/one.bin", bytes)
      await store.put("a/c/two.bin", bytes.subarray(0, 10))
      expect(await store.get("a/b/one.bin")).toEqual(bytes)
      expect(await store.get("a/b/one.bin", { start: 990, end: 1000 })).toEqual(bytes.subarray(990, 1000))
      expect(await store.get("a/b/one.bin", { start: 5, end: 5 })).toEqual(new Uint8Array(0))
      expect(await store.size("a/b/one.bin")).toBe(1000)
      expect(await store.get("a/missing")).toBeUndefined()
      expect(await store.size("a/missing")).toBeUndefined()
      expect(await store.list("a/")).toEqual(["a/b/one.bin", "a/c/two.bin"])
      expect(await store.list("a/b")).toEqual(["a/b/one.bin"])
      await store.delete("a/b/one.bin")
      await store.delete("a/b/one.bin")
      expect(await store.list("a/")).toEqual(["a/c/two.bin"])
      await store.delete("a/c/two.bin")
    }
  })
})

describe("large objects", () => {
  it("puts an object larger than one part as a multipart upload to S3 and reads it back whole and by range", async () => {
    const store = s3.store("big/")
    const bytes = new Uint8Array(9 * 1024 * 1024 + 123).map((_, i) => (i * 7) % 256)
    await store.put("blob.bin", bytes)
    expect(await store.size("blob.bin")).toBe(bytes.length)
    // Buffer.equals: a deep toEqual over 9 M elements takes minutes.
    expect(Buffer.from((await store.get("blob.bin"))!).equals(Buffer.from(bytes))).toBe(true)
    expect(await store.get("blob.bin", { start: 8 * 1024 * 1024 - 5, end: 8 * 1024 * 1024 + 5 }))
      .toEqual(bytes.subarray(8 * 1024 * 1024 - 5, 8 * 1024 * 1024 + 5))
    await store.delete("blob.bin")
  })
})

describe("cold store", () => {
  it("writes parts to the local folder and to S3, one per series and period, listed in the manifest; re-runs add nothing; unions on overlap", async () => {
    const s3lake = { sql: ns.sql, store: s3.store("lake/") }
    const lake = { sql: ns.sql, store: local }
    const daily = sampleBars("MSFT", "1day", Date.UTC(2022, 5, 1), 600)
    const hourly = sampleBars("MSFT", "1hour", Date.UTC(2023, 11, 20), 24 * 20)
    const minute = sampleBars("MSFT", "1min", Date.UTC(2024, 1, 28), 3 * 1440)
    const news = sampleNews("MSFT", Date.UTC(2023, 0, 1), Date.UTC(2023, 3, 1), 40)
    const shapes: string[][] = []
    for (const l of [lake, s3lake]) {
      const w = await writeCold(l, "bars", [...daily, ...hourly, ...minute])
      expect(w.rows).toBe(daily.length + hourly.length + minute.length)
      expect(await writeCold(l, "news", news)).toMatchObject({ rows: 40 })
      // Re-run: nothing new, no object written.
      expect(await writeCold(l, "bars", [...minute, ...daily])).toEqual({ rows: 0, objects: [] })
      const keys = await l.store.list("")
      expect((await objectsOfLake(l)).map((o) => o.key)).toEqual(keys)
      shapes.push(keys.map((k) => k.replace(/part-[0-9a-f]+/, "part")))
    }
    expect(shapes[1]).toEqual(shapes[0])
    // 1day: one decade object (2022-2023 is one decade, 2024 too: 2020s); 1hour: 2023 and 2024; 1min: Feb and Mar 2024.
    expect(shapes[0]).toEqual([
      "market_data/MSFT/1day/2020/part.parquet",
      "market_data/MSFT/1hour/2023/part.parquet", "market_data/MSFT/1hour/2024/part.parquet",
      "market_data/MSFT/1min/2024/02/part.parquet", "market_data/MSFT/1min/2024/03/part.parquet",
      "news/MSFT/2023/part.parquet"
    ])

    // Union on overlap: half old, half new rows; only the new ones become a part.
    const more = sampleBars("MSFT", "1day", Date.UTC(2024, 0, 10), 60)
    const w = await writeCold(lake, "bars", more)
    expect(w.objects).toHaveLength(1)
    expect(w.objects[0]).toMatch(/^market_data\/MSFT\/1day\/2020\/part-[0-9a-f]+\.parquet$/)
    const union = new Map([...daily, ...more].map((b) => [b.ts, b]))
    expect(w.rows).toBe(union.size - daily.length)
    const back = await readCold(lake, "bars", "MSFT", "1day", ALL.from, ALL.to)
    expect(back.map((b) => b.ts)).toEqual([...union.keys()].sort((a, b) => a - b))

    // A narrow read returns exactly the rows inside the window, through the manifest and through a listing.
    const from = Date.UTC(2024, 1, 29, 3)
    const to = Date.UTC(2024, 1, 29, 5)
    for (const source of [lake, s3lake, local]) {
      expect(await readCold(source, "bars", "MSFT", "1min", from, to)).toEqual(minute.filter((b) => b.ts >= from && b.ts < to))
    }
  })
})

describe("coverage ledger", () => {
  it("merges, clears and moves ranges between tiers", async () => {
    const c = (from: number, to: number, tier: "hot" | "cold") =>
      recordCoverage(ns.sql, { kind: "bars", symbol: "IBM", interval: "1day", from: T0 + from * DAY, to: T0 + to * DAY, tier })
    await Promise.all([c(0, 10, "cold"), c(10, 20, "cold"), c(25, 30, "hot"), c(30, 40, "hot"), c(5, 12, "cold")])
    const r = (from: number, to: number) => ({ from: T0 + from * DAY, to: T0 + to * DAY })
    expect(await coveredRanges(ns.sql, "bars", "IBM", "1day")).toEqual([r(0, 20), r(25, 40)])
    await retierCoverage(ns.sql, "bars", "IBM", "1day", r(15, 32), "hot", "cold")
    expect(await coverageByTier(ns.sql, "bars", "IBM", "1day")).toEqual({ hot: [r(32, 40)], cold: [r(0, 20), r(25, 32)] })
    expect(await coveredRanges(ns.sql, "bars", "IBM", "1day")).toEqual([r(0, 20), r(25, 40)])
    await clearCoverage(ns.sql, "bars", "IBM", "1day", r(5, 27))
    expect(await coveredRanges(ns.sql, "bars", "IBM", "1day")).toEqual([r(0, 5), r(27, 40)])
    expect(await coveredRanges(ns.sql, "bars", "IBM", "1hour")).toEqual([])
    await clearCoverage(ns.sql, "bars", "IBM", "1day")
    expect(await coveredRanges(ns.sql, "bars", "IBM", "1day")).toEqual([])
  })
})

describe("write router", () => {
  it("sends rows at or after hotFrom to PostgreSQL and older rows to Parquet, idempotently", async () => {
    const bars = sampleBars("NVDA", "1hour", Date.UTC(2024, 2, 1), 24 * 40)
    const hotFrom = Date.UTC(2024, 2, 20, 7)
    const deps = { sql: ns.sql, store: local }
    const first = await writeRows(deps, "bars", bars, hotFrom)
    const hot = bars.filter((b) => b.ts >= hotFrom)
    expect(first.hot).toBe(hot.length)
    expect(first.cold).toBe(bars.length - hot.length)
    expect(first.objects).toEqual([expect.stringMatching(/^market_data\/NVDA\/1hour\/2024\/part-[0-9a-f]+\.parquet$/)])
    // Concurrent repeats of the same batch store nothing twice.
    const again = await Promise.all([writeRows(deps, "bars", bars, hotFrom), writeRows(deps, "bars", bars, hotFrom)])
    expect(again.map((a) => a.hot + a.cold)).toEqual([0, 0])
    expect(await readHot(ns.sql, "bars", { symbol: "NVDA", interval: "1hour" }, ALL.from, ALL.to)).toEqual(hot)
    expect(await readCold(deps, "bars", "NVDA", "1hour", ALL.from, ALL.to)).toEqual(bars.filter((b) => b.ts < hotFrom))
  })
})
