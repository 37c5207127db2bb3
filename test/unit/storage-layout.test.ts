/**
 * Pure storage units: object layout (every row lands in the object whose span holds it),
 * range arithmetic, and the Parquet codec round trip (in memory, no I/O).
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import type { StorageKind } from "../../src/domain/rows.ts"
import { keySpan, legacyObjectKey, partKey, periodSpan, seriesOfKey } from "../../src/storage/layout.ts"
import { PARQUET_COLUMNS, bufferOf, decodeParquet, decodeParquetGroups, encodeParquet } from "../../src/storage/parquet.ts"
import { clipRanges, mergeRanges, removeRange, type Range } from "../../src/domain/ranges.ts"
import { sampleActions, sampleBars, sampleNews, sampleSentiment } from "../../fixtures/sample-rows.ts"

const T_MIN = Date.UTC(1990, 0, 1)
const T_MAX = Date.UTC(2100, 0, 1)
const series = fc.constantFrom<[StorageKind, string]>(
  ["bars", "1day"], ["bars", "1hour"], ["bars", "5min"], ["bars", "1min"], ["news", ""], ["corporate_actions", ""], ["social_sentiment", ""]
)

describe("layout", () => {
  test.prop([series, fc.integer({ min: T_MIN, max: T_MAX })])("a row's part key names the period that holds the row", ([kind, interval], ms) => {
    const key = partKey(kind, "BRK.B", interval, ms, "0a1b2c")
    const span = keySpan(kind, interval, key)
    expect(span).toMatchObject({ layout: "part", ...periodSpan(kind, interval, ms) })
    expect(span!.from <= ms && ms < span!.to).toBe(true)
    expect(partKey(kind, "BRK.B", interval, span!.from, "0a1b2c")).toBe(key)
    expect(partKey(kind, "BRK.B", interval, span!.to - 1, "0a1b2c")).toBe(key)
    expect(seriesOfKey(kind, key)).toEqual({ symbol: "BRK.B", interval })
  })

  test.prop([series, fc.integer({ min: T_MIN, max: T_MAX })])("an earlier-layout key's span holds the row and nests in today's period", ([kind, interval], ms) => {
    const key = legacyObjectKey(kind, "X", interval, ms)
    const span = keySpan(kind, interval, key)
    expect(span?.layout).toBe("legacy")
    expect(span!.from <= ms && ms < span!.to).toBe(true)
    const period = periodSpan(kind, interval, ms)
    expect(period.from <= span!.from && span!.to <= period.to).toBe(true)
  })

  it("sizes periods by interval: month for minutes, year for hours, decade for days", () => {
    const t = Date.UTC(2024, 2, 5, 13, 30)
    expect(partKey("bars", "AAPL", "1day", t, "ab")).toBe("market_data/AAPL/1day/2020/part-ab.parquet")
    expect(partKey("bars", "AAPL", "1hour", t, "ab")).toBe("market_data/AAPL/1hour/2024/part-ab.parquet")
    expect(partKey("bars", "AAPL", "5min", t, "ab")).toBe("market_data/AAPL/5min/2024/03/part-ab.parquet")
    expect(partKey("bars", "AAPL", "1min", t, "ab")).toBe("market_data/AAPL/1min/2024/03/part-ab.parquet")
    expect(partKey("news", "AAPL", "", t, "ab")).toBe("news/AAPL/2024/part-ab.parquet")
    expect(partKey("corporate_actions", "AAPL", "", t, "ab")).toBe("corporate_actions/AAPL/2020/part-ab.parquet")
    expect(legacyObjectKey("bars", "AAPL", "1min", t)).toBe("market_data/AAPL/1min/2024/03/05/data.parquet")
    expect(keySpan("bars", "1day", "market_data/AAPL/1day/2024/part-ab.parquet")).toBeUndefined()
    expect(seriesOfKey("bars", "market_data/AAPL/1min/2024/03/05/data.parquet.tmp-1")).toBeUndefined()
  })
})

const rangeArb = fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 100 })).map(([f, l]): Range => ({ from: f, to: f + l }))
const inside = (rs: readonly Range[], x: number) => rs.some((r) => r.from <= x && x < r.to)

describe("ranges", () => {
  test.prop([fc.array(rangeArb), rangeArb, fc.integer({ min: 0, max: 1100 })])("merge, subtract and intersect agree with membership", (rs, cut, x) => {
    const merged = mergeRanges(rs)
    expect(inside(merged, x)).toBe(inside(rs, x))
    for (let i = 1; i < merged.length; i++) expect(merged[i]!.from > merged[i - 1]!.to).toBe(true)
    expect(inside(removeRange(rs, cut), x)).toBe(inside(rs, x) && !inside([cut], x))
    expect(inside(clipRanges(rs, cut), x)).toBe(inside(rs, x) && inside([cut], x))
  })
})

describe("parquet codec", () => {
  it("round-trips every kind exactly, in time order", async () => {
    const t = Date.UTC(2024, 0, 1)
    const bars = sampleBars("AAPL", "1min", t, 25_000)
    const shuffled = [...bars].reverse()
    const file = bufferOf(encodeParquet("bars", shuffled))
    expect(await decodeParquet("bars", file)).toEqual(bars)
    // Row-group pruning: fewer rows fetched, and every row of the window among them.
    const from = t + 21_000 * 60_000
    const some = await decodeParquet("bars", file, { from, to: from + 60_000 * 10 })
    expect(some.length).toBeLessThan(bars.length)
    expect(some.filter((b) => b.ts >= from && b.ts < from + 600_000)).toEqual(bars.slice(21_000, 21_010))
    const news = sampleNews("AAPL", t, t + 86_400_000 * 30, 20).sort((a, b) => a.published_at - b.published_at)
    expect(await decodeParquet("news", bufferOf(encodeParquet("news", news)))).toEqual(news)
    const actions = sampleActions("AAPL", t, t + 86_400_000 * 900)
    expect(await decodeParquet("corporate_actions", bufferOf(encodeParquet("corporate_actions", actions)))).toEqual(actions)
    const sent = sampleSentiment("AAPL", t, t + 86_400_000)
    expect(await decodeParquet("social_sentiment", bufferOf(encodeParquet("social_sentiment", sent)))).toEqual(sent)
  })

  // Three row groups of 10,000 rows; one file, encoded once.
  const t0 = Date.UTC(2024, 0, 1)
  const minutes = sampleBars("MSFT", "1min", t0, 21_000)
  const minuteFile = bufferOf(encodeParquet("bars", minutes))
  const fields = PARQUET_COLUMNS.bars.map((c) => c.name)
  test.prop([fc.integer({ min: -100, max: 21_500 }), fc.integer({ min: 0, max: 21_500 }), fc.boolean()], { seed: 20261201, numRuns: 6 })(
    "yields exactly the row groups overlapping a window, each row with the kind's fields and nothing else",
    async (first, length, merge) => {
      const from = t0 + first * 60_000
      const to = from + length * 60_000
      const chunks: unknown[][] = []
      for await (const rows of decodeParquetGroups("bars", minuteFile, { from, to }, merge)) chunks.push(rows)
      const groups = [0, 10_000, 20_000].map((s) => minutes.slice(s, s + 10_000))
        .filter((g) => g[g.length - 1]!.ts >= from && g[0]!.ts < to)
      expect(chunks.flat()).toStrictEqual(groups.flat())
      if (!merge) expect(chunks.map((c) => c.length)).toEqual(groups.map((g) => g.length))
      for (const r of chunks.flat()) expect(Object.keys(r as object)).toEqual(fields)
    })
})
