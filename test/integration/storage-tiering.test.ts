/**
 * Tiering against real PostgreSQL, Redis (layers from actor snapshots) and a lake in a
 * local folder and in s3rver:
 * exactly the rows past the hot boundary move, exactly the rows past retention go, a rerun
 * changes nothing, and a demotion from L3 to L1 leaves exactly the L1 windows per tier.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import type { RetentionPolicy } from "../../config/schema.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { symbolLayers } from "../../src/engine/tiering.ts"
import type { Bar } from "../../src/domain/rows.ts"
import { DAY_MS, utcDay } from "../../src/domain/time.ts"
import {
  STORAGE_DDL, coverageByTier, localObjectStore, readCold, readHot, recordCoverage, writeHot, writeRows, type ObjectStore
} from "../../src/storage/index.ts"
import { sampleBars, sampleSentiment } from "../../fixtures/sample-rows.ts"
import { runTiering, type TieringDeps } from "../../src/storage/tiering.ts"
import { startS3, type TestS3 } from "../helpers/s3.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const NOW = Date.UTC(2024, 5, 15, 12)
const END = utcDay(NOW) + DAY_MS
const ALL = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as const

describe.each(["local", "s3"] as const)("tiering with the lake on %s", (where) => {
  let ns: TestNamespace
  let dir: string
  let store: ObjectStore
  let s3: TestS3 | undefined
  let deps: TieringDeps

  beforeAll(async () => {
    ns = await testNamespaceWith(STORAGE_DDL)
    dir = mkdtempSync(join(tmpdir(), "strata-lake-"))
    if (where === "s3") {
      s3 = await startS3()
      store = s3.store("lake/")
    } else store = localObjectStore(dir)
    deps = { sql: ns.sql, store, layersOf: symbolLayers(ns.redis, ns.sql, { prefix: ns.prefix, partitions: 1 }) }
  })

  afterAll(async () => {
    await s3?.stop()
    rmSync(dir, { recursive: true, force: true })
    await ns?.cleanup()
  })

  const setLayer = (symbol: string, layer: number) =>
    ns.redis.hset(partitionKeys(ns.prefix, 0).snapshots, symbol, JSON.stringify({ layer, context: {} }))

  const barsBetween = (symbol: string, interval: "1day" | "1hour" | "5min" | "1min", from: number, to: number): Bar[] => {
    const step = { "1day": DAY_MS, "1hour": 3_600_000, "5min": 300_000, "1min": 60_000 }[interval]
    return sampleBars(symbol, interval, from, Math.ceil((to - from) / step)).filter((b) => b.ts < to)
  }

  const held = async (symbol: string, interval: string) => ({
    hot: (await readHot(ns.sql, "bars", { symbol, interval }, ...ALL)).map((b) => b.ts),
    cold: (await readCold({ sql: ns.sql, store }, "bars", symbol, interval, ...ALL)).map((b) => b.ts).sort((a, b) => a - b)
  })

  it("moves exactly the rows past the hot boundary, expires exactly those past retention, and a rerun changes nothing", async () => {
    const policy = loadConfig({ env: {} }).retention
    await setLayer("AAPL", 1)
    // L1: 1day and 1hour hot 30 / kept 365 days; 1min hot 7 / kept 365 days.
    const daily = barsBetween("AAPL", "1day", END - 400 * DAY_MS, END)
    const hourly = barsBetween("AAPL", "1hour", END - 40 * DAY_MS, END)
    const minute = barsBetween("AAPL", "1min", END - 9 * DAY_MS, END)
    for (const rows of [daily, hourly, minute]) await writeHot(ns.sql, "bars", rows)
    await recordCoverage(ns.sql, { kind: "bars", symbol: "AAPL", interval: "1day", from: END - 400 * DAY_MS, to: END, tier: "hot" })

    const report = await runTiering(deps, policy, NOW)
    const expectTiers = async (interval: string, rows: Bar[], hotDays: number, keptDays: number) => {
      const hotFrom = END - hotDays * DAY_MS
      const keepFrom = END - keptDays * DAY_MS
      expect(await held("AAPL", interval)).toEqual({
        hot: rows.filter((b) => b.ts >= hotFrom).map((b) => b.ts),
        cold: rows.filter((b) => b.ts >= keepFrom && b.ts < hotFrom).map((b) => b.ts)
      })
    }
    await expectTiers("1day", daily, 30, 365)
    await expectTiers("1hour", hourly, 30, 365)
    await expectTiers("1min", minute, 7, 365)
    expect(report.moved).toBe((365 - 30) + 10 * 24 + 2 * 1440)
    expect(report.hotExpired).toBe(400 - 365)
    expect(await coverageByTier(ns.sql, "bars", "AAPL", "1day")).toEqual({
      hot: [{ from: END - 30 * DAY_MS, to: END }], cold: [{ from: END - 365 * DAY_MS, to: END - 30 * DAY_MS }]
    })
    // The cold rows are the very rows written hot (values, not only times).
    expect(await readCold({ sql: ns.sql, store }, "bars", "AAPL", "1hour", ...ALL)).toEqual(hourly.filter((b) => b.ts < END - 30 * DAY_MS))

    const objects = await store.list("")
    const again = await runTiering(deps, policy, NOW)
    expect(again).toMatchObject({ moved: 0, hotExpired: 0, objectsDeleted: 0, objectsTrimmed: 0 })
    expect(await store.list("")).toEqual(objects)
    await expectTiers("1day", daily, 30, 365)
  })

  it("after a demotion from L3 to L1 the symbol holds exactly the L1 windows in each tier", async () => {
    const base = loadConfig({ env: {} }).retention
    const policy: RetentionPolicy = {
      ...base,
      L1: { market_data: { hot_days: 5, cold_days: 30, intervals: ["1day"] } },
      L3: {
        market_data: { hot_days: 10, cold_days: 60, intervals: ["1day", "1hour", "5min"] },
        social_sentiment: { hot_days: 3, cold_days: 20 }
      }
    }
    const sym = "TSLA"
    await setLayer(sym, 3)
    const l3 = { "1day": barsBetween(sym, "1day", END - 60 * DAY_MS, END), "1hour": barsBetween(sym, "1hour", END - 60 * DAY_MS, END), "5min": barsBetween(sym, "5min", END - 60 * DAY_MS, END) }
    for (const interval of ["1day", "1hour", "5min"] as const) {
      await writeRows({ sql: ns.sql, store }, "bars", l3[interval], END - 10 * DAY_MS)
      await recordCoverage(ns.sql, { kind: "bars", symbol: sym, interval, from: END - 60 * DAY_MS, to: END, tier: "cold" })
    }
    await writeRows({ sql: ns.sql, store }, "social_sentiment", sampleSentiment(sym, END - 20 * DAY_MS, END), END - 3 * DAY_MS)
    expect(await runTiering(deps, policy, NOW, [sym])).toMatchObject({ moved: 0, hotExpired: 0, objectsDeleted: 0 })

    await setLayer(sym, 1)
    await runTiering(deps, policy, NOW, [sym])
    expect(await held(sym, "1day")).toEqual({
      hot: l3["1day"].filter((b) => b.ts >= END - 5 * DAY_MS).map((b) => b.ts),
      cold: l3["1day"].filter((b) => b.ts >= END - 30 * DAY_MS && b.ts < END - 5 * DAY_MS).map((b) => b.ts)
    })
    for (const interval of ["1hour", "5min"]) {
      expect(await held(sym, interval)).toEqual({ hot: [], cold: [] })
      expect(await coverageByTier(ns.sql, "bars", sym, interval)).toEqual({ hot: [], cold: [] })
    }
    expect(await readHot(ns.sql, "social_sentiment", { symbol: sym, interval: "" }, ...ALL)).toEqual([])
    expect(await store.list(`social_sentiment/${sym}/`)).toEqual([])
    expect((await store.list(`market_data/${sym}/`)).every((k) => new RegExp(`^market_data/${sym}/1day/2020/part-[0-9a-f]+\\.parquet$`).test(k))).toBe(true)
    expect((await store.list(`market_data/${sym}/`)).every((k) => k.startsWith(`market_data/${sym}/1day/`))).toBe(true)
    // Coverage follows the rows: the part inside the hot window is hot (recorded cold above).
    expect(await coverageByTier(ns.sql, "bars", sym, "1day")).toEqual({
      hot: [{ from: END - 5 * DAY_MS, to: END }], cold: [{ from: END - 30 * DAY_MS, to: END - 5 * DAY_MS }]
    })
  })

  it("leaves symbols of unknown layer untouched", async () => {
    const rows = barsBetween("ZZZZ", "1day", END - 900 * DAY_MS, END)
    await writeHot(ns.sql, "bars", rows)
    const report = await runTiering(deps, loadConfig({ env: {} }).retention, NOW, ["ZZZZ"])
    expect(report.unknown).toEqual(["ZZZZ"])
    expect((await held("ZZZZ", "1day")).hot).toHaveLength(rows.length)
  })

  it("a failure after the object is written but before the rows are deleted leaves every row once after the next run", async () => {
    const policy = loadConfig({ env: {} }).retention
    await setLayer("AMZN", 1)
    const minute = barsBetween("AMZN", "1min", END - 9 * DAY_MS, END)
    await writeHot(ns.sql, "bars", minute)
    // The store writes the object, then the process "dies" before the delete commits.
    let failures = 1
    const failing: ObjectStore = {
      ...store,
      put: async (key, bytes) => {
        await store.put(key, bytes)
        if (failures-- > 0) throw new Error("crash after the object was written")
      }
    }
    await expect(runTiering({ ...deps, store: failing }, policy, NOW, ["AMZN"])).rejects.toThrow(/crash after/)
    const between = await held("AMZN", "1min")
    expect(between.hot).toHaveLength(minute.length)
    // The written part is not visible (not in the manifest), though it is in the store.
    expect(between.cold).toEqual([])
    expect((await store.list("market_data/AMZN/")).length).toBeGreaterThan(0)
    await runTiering(deps, policy, NOW, ["AMZN"])
    const after = await held("AMZN", "1min")
    expect(after.hot).toEqual(minute.filter((b) => b.ts >= END - 7 * DAY_MS).map((b) => b.ts))
    expect(after.cold).toEqual(minute.filter((b) => b.ts < END - 7 * DAY_MS).map((b) => b.ts))
    // The crashed run's part was deleted: the store holds exactly what the manifest names.
    expect(await store.list("market_data/AMZN/")).toEqual(
      (await allObjects(ns.sql, store.location)).map((o) => o.key).filter((k) => k.startsWith("market_data/AMZN/")))
  })
})
