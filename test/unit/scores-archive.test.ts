/**
 * Pure units of the scanner archive: part names (hour folder of the first entry ID, round
 * trip, read order), the Parquet codec of archived rows (in memory), and the ID bounds the
 * history reader turns `--from`/`--to` into.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { compareEntryIds, entryIdMs } from "../../src/domain/time.ts"
import { bufferOf } from "../../src/storage/parquet.ts"
import {
  decodeArchivePart, encodeArchivePart, hourFolder, parsePartKey, partKey, sortParts, type ArchivedScore
} from "../../src/storage/scores-archive.ts"
import { idBefore, idUpTo } from "../../src/replay/history.ts"

const T_MIN = Date.UTC(1990, 0, 1)
const T_MAX = Date.UTC(2199, 11, 31)
const entryId = fc.tuple(fc.integer({ min: T_MIN, max: T_MAX }), fc.bigInt({ min: 0n, max: 18446744073709551615n }))
  .map(([ms, seq]) => `${ms}-${seq}`)

describe("part names", () => {
  test.prop([entryId, fc.bigInt({ min: 1n, max: 1n << 40n })])("name the UTC hour of the first ID and parse back", (id, epoch) => {
    const key = partKey(id, String(epoch))
    const d = new Date(entryIdMs(id))
    const hour = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}/${String(d.getUTCHours()).padStart(2, "0")}/`
    expect(key.startsWith(`scores/${hour}`)).toBe(true)
    expect(hourFolder(entryIdMs(id))).toBe(`scores/${hour}`)
    expect(parsePartKey(key)).toEqual({ key, firstId: id, epoch: String(epoch) })
  })

  test.prop([fc.array(fc.tuple(entryId, fc.integer({ min: 1, max: 99 })), { maxLength: 30 })])("sort by first ID numerically, then epoch", (named) => {
    const parts = named.map(([id, e]) => parsePartKey(partKey(id, String(e)))!)
    const sorted = sortParts(parts)
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!, b = sorted[i]!
      const c = compareEntryIds(a.firstId, b.firstId)
      expect(c < 0 || (c === 0 && Number(a.epoch) <= Number(b.epoch))).toBe(true)
    }
  })

  it("ignore anything that is not a part", () => {
    expect(parsePartKey("scores/2026/11/02/14/1793631234567-0.e3.parquet.tmp-1")).toBeUndefined()
    expect(parsePartKey("scores/2026/11/02/1793631234567-0.e3.parquet")).toBeUndefined()
    expect(parsePartKey("market_data/AAPL/1day/2026/data.parquet")).toBeUndefined()
  })
})

describe("archived rows in Parquet", () => {
  const value = fc.string({ maxLength: 40, unit: "binary" })
  const row = fc.record({
    fields: fc.array(value, { maxLength: 12 }),
    eventTime: fc.option(fc.integer({ min: T_MIN, max: T_MAX }), { nil: null }),
    symbol: fc.option(value, { nil: null }),
    deadReason: fc.option(value, { nil: null })
  })
  test.prop([fc.array(row, { minLength: 1, maxLength: 60 })])("round trip every field exactly, nulls included", (drafts) => {
    const rows: ArchivedScore[] = drafts.map((d, i) => ({
      id: `${T_MIN + i}-${i % 3}`, idTime: T_MIN + i, eventTime: d.eventTime, symbol: d.symbol, fields: d.fields,
      dead: d.deadReason !== null, deadReason: d.deadReason, deadId: d.deadReason === null ? null : `${T_MAX}-${i}`
    }))
    const back: ArchivedScore[] = []
    return (async () => {
      for await (const group of decodeArchivePart(bufferOf(await encodeArchivePart(rows)))) back.push(...group)
      expect(back).toEqual(rows)
    })()
  })
})

describe("history bounds", () => {
  test.prop([entryId])("idBefore is the greatest ID below an inclusive lower bound", (id) => {
    const before = idBefore(id)
    if (before === undefined) return
    expect(compareEntryIds(before, id)).toBe(-1)
  })

  it("turns milliseconds into the first and last ID of that millisecond", () => {
    expect(idBefore("1700000000000")).toBe("1699999999999-18446744073709551615")
    expect(idBefore("1700000000000-5")).toBe("1700000000000-4")
    expect(idBefore("1700000000000-0")).toBe("1699999999999-18446744073709551615")
    expect(idBefore("-")).toBeUndefined()
    expect(idUpTo("1700000000000")).toBe("1700000000000-18446744073709551615")
    expect(idUpTo("1700000000000-5")).toBe("1700000000000-5")
    expect(idUpTo("+")).toBeUndefined()
  })
})
