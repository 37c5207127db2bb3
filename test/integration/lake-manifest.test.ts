/**
 * The manifest against real servers, on the local folder and on s3rver: reads, tiering and
 * compaction issue no LIST (counted by a wrapper around the store); removeColdRange takes
 * exactly a range out, converges after a crash and is idempotent; compaction merges parts
 * into one object per period with the same rows; verify finds and repairs differences.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import type { Bar } from "../../src/domain/rows.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { runCompaction } from "../../src/storage/compaction.ts"
import { countingStore } from "../../src/storage/counting-store.ts"
import { coverageByTier, recordCoverage } from "../../src/storage/coverage.ts"
import {
  STORAGE_DDL, localObjectStore, readCold, removeColdRange, writeCold, writeHot, type Lake, type ObjectStore
} from "../../src/storage/index.ts"
import { verifyLake } from "../../src/storage/lake.ts"
import { allObjects, markPending } from "../../src/storage/manifest.ts"
import { bars as routedBars } from "../../src/storage/read-router.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { runTiering } from "../../src/storage/tiering.ts"
import { startS3, type TestS3 } from "../helpers/s3.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const ALL = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as const
const T0 = Date.UTC(2024, 0, 1)

let ns: TestNamespace
let s3: TestS3

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  s3 = await startS3()
})

afterAll(async () => {
  await s3?.stop()
  await ns?.cleanup()
})

/** The store holds exactly the objects the manifest names. */
const expectManifestIsStore = async (lake: Lake) => {
  expect((await allObjects(lake.sql, lake.store.location)).map((o) => o.key)).toEqual(await lake.store.list(""))
}

describe.each(["local", "s3"] as const)("manifest with the lake on %s", (where) => {
  let base: ObjectStore
  beforeAll(() => {
    base = where === "local" ? localObjectStore(`${ns.config.storage.lake}-manifest`) : s3.store("manifest/")
  })

  it("reads, tiers and compacts without listing the store; compaction leaves one object per period with the same rows", async () => {
    const store = countingStore(base)
    const lake = { sql: ns.sql, store }
    const minute = sampleBars("LST", "1min", T0, 40 * 1440) // Jan 1 – Feb 9: two months
    // Written in week-sized batches, as backfill chunks arrive: several parts per month.
    for (let i = 0; i < minute.length; i += 7 * 1440) await writeCold(lake, "bars", minute.slice(i, i + 7 * 1440))
    const before = await allObjects(ns.sql, store.location)
    expect(before.length).toBe(7)
    store.counts.lists = 0
    expect(await readCold(lake, "bars", "LST", "1min", ...ALL)).toEqual(minute)
    expect(await routedBars(lake, "LST", "1min", T0 + 3 * DAY_MS, T0 + 33 * DAY_MS)).toEqual(
      minute.filter((b) => b.ts >= T0 + 3 * DAY_MS && b.ts < T0 + 33 * DAY_MS))
    const report = await runCompaction(lake, { full: true })
    expect(report).toMatchObject({ periods: 2, parts: 7, rows: minute.length })
    const after = await allObjects(ns.sql, store.location)
    expect(after.map((o) => o.periodFrom)).toEqual([T0, Date.UTC(2024, 1, 1)])
    expect(await readCold(lake, "bars", "LST", "1min", ...ALL)).toEqual(minute)
    // A tiering pass over hot rows of a known layer, and expiry of old cold rows.
    await writeHot(ns.sql, "bars", sampleBars("LST", "1day", T0, 60))
    const policy = loadConfig({ env: {} }).retention
    await runTiering({ ...lake, layersOf: async () => new Map([["LST", 1]]) }, policy, T0 + 400 * DAY_MS, ["LST"])
    expect(store.counts.lists).toBe(0)
    await expectManifestIsStore(lake)
  })

  it("removeColdRange takes exactly [from, to) out, converges after a crash, and a rerun changes nothing", async () => {
    const lake = { sql: ns.sql, store: base }
    const hourly = sampleBars("RMV", "1hour", Date.UTC(2023, 10, 1), 24 * 90) // Nov 2023 – Jan 2024: two year objects
    await writeCold(lake, "bars", hourly.slice(0, 24 * 45))
    await writeCold(lake, "bars", hourly.slice(24 * 45))
    const from = Date.UTC(2023, 11, 20, 5)
    const to = Date.UTC(2024, 0, 3, 17)
    const kept = (b: Bar) => b.ts < from || b.ts >= to
    // A crash while the replacement part is written: nothing visible changes.
    let fail = true
    const failing: ObjectStore = {
      ...base,
      put: async (key, bytes) => {
        await base.put(key, bytes)
        if (fail) { fail = false; throw new Error("killed after a put") }
      }
    }
    await expect(removeColdRange({ sql: ns.sql, store: failing }, "bars", "RMV", "1hour", from, to)).rejects.toThrow(/killed/)
    expect(await readCold(lake, "bars", "RMV", "1hour", ...ALL)).toEqual(hourly)
    await removeColdRange(lake, "bars", "RMV", "1hour", from, to)
    expect(await readCold(lake, "bars", "RMV", "1hour", ...ALL)).toEqual(hourly.filter(kept))
    const objects = await allObjects(ns.sql, base.location)
    await removeColdRange(lake, "bars", "RMV", "1hour", from, to)
    expect(await allObjects(ns.sql, base.location)).toEqual(objects)
    expect(await readCold(lake, "bars", "RMV", "1hour", ...ALL)).toEqual(hourly.filter(kept))
    // Everything: the series is gone from the manifest and the store.
    await removeColdRange(lake, "bars", "RMV", "1hour", ...ALL)
    expect(await readCold(lake, "bars", "RMV", "1hour", ...ALL)).toEqual([])
    expect(await base.list("market_data/RMV/")).toEqual([])
  })

  it("verify finds an object lost from the store, a stray one and a leftover, and repair makes them agree", async () => {
    const lake = { sql: ns.sql, store: base }
    const daily = sampleBars("VFY", "1day", Date.UTC(2001, 0, 1), 365 * 25)
    await writeCold(lake, "bars", daily)
    await recordCoverage(ns.sql, { kind: "bars", symbol: "VFY", interval: "1day", from: Date.UTC(2001, 0, 1), to: Date.UTC(2026, 0, 1), tier: "cold" })
    expect(await verifyLake(lake, { deep: true })).toMatchObject({ missing: [], damaged: [], pending: [], unnamed: [] })
    const [first, second] = await allObjects(ns.sql, base.location).then((os) => os.filter((o) => o.symbol === "VFY"))
    await base.delete(first!.key)
    await base.put(second!.key, new Uint8Array([1, 2, 3]))
    const stray = "market_data/VFY/1day/2030/part-0123456789ab.parquet"
    await base.put(stray, (await base.get((await allObjects(ns.sql, base.location)).find((o) => o.symbol === "VFY" && o.periodFrom === Date.UTC(2020, 0, 1))!.key))!)
    // A writer that died after its put: the key is pending, the object in the store.
    const leftover = "market_data/VFY/1day/2040/part-ba9876543210.parquet"
    await markPending(ns.sql, base.location, { kind: "bars", symbol: "VFY", interval: "1day" }, [leftover])
    await base.put(leftover, new Uint8Array([9]))
    const found = await verifyLake(lake)
    expect(found).toMatchObject({ missing: [first!.key], damaged: [second!.key], unnamed: [stray], pending: [leftover] })
    const repaired = await verifyLake(lake, { repair: true })
    expect(repaired.repaired).toEqual({ adopted: 1, deleted: 1, forgotten: 2 })
    expect(await verifyLake(lake, { deep: true })).toMatchObject({ missing: [], damaged: [], pending: [], unnamed: [] })
    // The lost ranges are no longer covered: backfill will fetch them again.
    const cold = (await coverageByTier(ns.sql, "bars", "VFY", "1day")).cold
    expect(cold.some((r) => r.from <= first!.minMs && first!.minMs < r.to)).toBe(false)
    expect(cold.some((r) => r.from <= second!.minMs && second!.minMs < r.to)).toBe(false)
    await expectManifestIsStore(lake)
  })
})
