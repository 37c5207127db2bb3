/**
 * The read router against real PostgreSQL, a local lake and s3rver.
 * Property: for random bar sets, random hot/cold boundaries (with some rows caught in both
 * tiers, as mid-tiering) and random query ranges, the router's answer equals the answer
 * computed over all the data held in one place. And: cold reads open only overlapping
 * objects, always with explicit byte ranges.
 */
import { fc, test } from "@fast-check/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Bar } from "../../src/domain/rows.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { STORAGE_DDL, localObjectStore, writeCold, writeHot, writeRows, type ObjectStore } from "../../src/storage/index.ts"
import { bars, corporateActions, news } from "../../src/storage/read-router.ts"
import { INTERVAL_MS, sampleActions, sampleBars, sampleNews } from "../../fixtures/sample-rows.ts"
import { countingStore } from "../../src/storage/counting-store.ts"
import { startS3, type TestS3 } from "../helpers/s3.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2023, 11, 20)

let ns: TestNamespace
let local: ObjectStore
let s3: TestS3

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  local = localObjectStore(ns.config.storage.lake)
  s3 = await startS3()
})

afterAll(async () => {
  await s3?.stop()
  await ns?.cleanup()
})

const inOnePlace = (all: readonly Bar[], from: number, to: number) =>
  [...new Map(all.map((b) => [b.ts, b])).values()].filter((b) => b.ts >= from && b.ts < to).sort((a, b) => a.ts - b.ts)

let run = 0
describe("read router", () => {
  test.prop(
    [
      fc.constantFrom("1day", "1hour", "5min", "1min") as fc.Arbitrary<"1day" | "1hour" | "5min" | "1min">,
      fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 0, maxLength: 300 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.array(fc.tuple(fc.integer({ min: -200, max: 4200 }), fc.integer({ min: 0, max: 4400 })), { minLength: 1, maxLength: 4 })
    ],
    { numRuns: 25 }
  )("answers exactly what all the data held in one place answers", async (interval, steps, boundary, both, queries) => {
    const symbol = `P${run++}`
    const step = INTERVAL_MS[interval]
    const source = sampleBars(symbol, interval, T0, 4001)
    const rows = [...new Set(steps)].map((i) => source[i] as Bar)
    const hotFrom = T0 + Math.floor(boundary * 4001) * step
    await writeRows({ sql: ns.sql, store: local }, "bars", rows, hotFrom)
    // Rows caught mid-tiering: some cold rows also still hot.
    const doubled = rows.filter((b) => b.ts < hotFrom).slice(0, Math.floor(both * 20))
    await writeHot(ns.sql, "bars", doubled)
    for (const [a, len] of queries) {
      const from = T0 + a * step
      const to = from + len * step
      expect(await bars({ sql: ns.sql, store: local }, symbol, interval, from, to)).toEqual(inOnePlace(rows, from, to))
    }
  })

  it("opens only overlapping objects, with explicit byte ranges, on the local folder and on S3", async () => {
    const minute = sampleBars("MSFT", "1min", Date.UTC(2024, 2, 1), 10 * 1440)
    for (const base of [local, s3.store("lake/")]) {
      await writeCold({ sql: ns.sql, store: base }, "bars", minute)
      const reads: { key: string; range: string }[] = []
      const counted = countingStore(base)
      const watched: ObjectStore = {
        ...counted,
        get: (key, range) => {
          reads.push({ key, range: range ? `${range.start}-${range.end}` : "whole" })
          return counted.get(key, range)
        }
      }
      const from = Date.UTC(2024, 2, 4, 10)
      const to = Date.UTC(2024, 2, 5, 2)
      const got = await bars({ sql: ns.sql, store: watched }, "MSFT", "1min", from, to)
      expect(got).toEqual(minute.filter((b) => b.ts >= from && b.ts < to))
      expect(reads.length).toBeGreaterThan(0)
      expect(counted.counts.lists + counted.counts.heads).toBe(0)
      expect(reads.every((r) => r.range !== "whole")).toBe(true)
      // One month object, read by ranges: no listing, no HEAD (the manifest knows its size).
      const keys = new Set(reads.map((r) => r.key))
      expect([...keys]).toEqual([expect.stringMatching(/^market_data\/MSFT\/1min\/2024\/03\/part-[0-9a-f]+\.parquet$/)])
    }
  })

  it("answers news and corporate actions across tiers", async () => {
    const deps = { sql: ns.sql, store: local }
    const items = sampleNews("NFLX", T0 - 90 * DAY_MS, T0 + 30 * DAY_MS, 60)
    await writeRows(deps, "news", items, T0)
    const from = T0 - 45 * DAY_MS
    const to = T0 + 10 * DAY_MS
    const expected = items.filter((n) => n.published_at >= from && n.published_at < to)
      .sort((a, b) => a.published_at - b.published_at || (a.id < b.id ? -1 : 1))
    expect(await news(deps, "NFLX", from, to)).toEqual(expected)
    const actions = sampleActions("NFLX", T0 - 3000 * DAY_MS, T0 + 200 * DAY_MS)
    await writeRows(deps, "corporate_actions", actions, T0 - 100 * DAY_MS)
    expect(await corporateActions(deps, "NFLX", T0 - 1000 * DAY_MS, T0 + 1000 * DAY_MS))
      .toEqual(actions.filter((a) => a.ex_date >= T0 - 1000 * DAY_MS))
  })
})
