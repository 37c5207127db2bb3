/**
 * Taking a time range out of the cold tier, on a local folder and on s3rver: exactly the
 * rows inside the range go (objects wholly inside deleted, straddling ones rewritten,
 * others untouched byte for byte), a rerun changes nothing; and the warm-up built on it
 * loses no row that a concurrent writer merges into an object while it is being moved.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Bar } from "../../src/domain/rows.ts"
import { naturalKey } from "../../src/domain/rows.ts"
import { STORAGE_DDL, localObjectStore, readCold, readHot, writeCold, type ObjectStore } from "../../src/storage/index.ts"
import { removeColdRange } from "../../src/storage/cold-store.ts"
import { advisoryLock } from "../../src/storage/locks.ts"
import { sampleBars } from "../../src/storage/sample.ts"
import { warmUp } from "../../src/storage/warm-up.ts"
import { startS3, type TestS3 } from "../helpers/s3.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2024, 0, 1)
const ALL = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as const

describe.each(["local", "s3"] as const)("removeColdRange with the lake on %s", (where) => {
  let ns: TestNamespace
  let s3: TestS3 | undefined
  let store: ObjectStore

  beforeAll(async () => {
    ns = await testNamespaceWith(STORAGE_DDL)
    if (where === "s3") {
      s3 = await startS3()
      store = s3.store("lake/")
    } else store = localObjectStore(ns.config.storage.lake)
  })
  afterAll(async () => {
    await s3?.stop()
    await ns?.cleanup()
  })

  const contents = async (prefix: string) =>
    new Map(await Promise.all((await store.list(prefix)).map(async (k) => [k, Buffer.from((await store.get(k)) ?? []).toString("base64")] as const)))

  it("removes exactly the rows inside the range, and a rerun changes nothing", async () => {
    // Hourly bars: one object per month, January to March.
    const rows = sampleBars("AAPL", "1hour", T0, 91 * 24)
    const other = sampleBars("MSFT", "1hour", T0, 91 * 24)
    await writeCold(store, "bars", [...rows, ...other])
    const from = Date.UTC(2024, 0, 20, 5)
    const to = Date.UTC(2024, 2, 1)
    const before = await contents("market_data/")
    const lock = advisoryLock(ns.sql)

    expect(await removeColdRange(store, "bars", "AAPL", "1hour", from, to, lock)).toEqual({ objectsDeleted: 1, objectsRewritten: 1 })
    expect(await readCold(store, "bars", "AAPL", "1hour", ...ALL)).toEqual(rows.filter((b) => b.ts < from || b.ts >= to))
    const after = await contents("market_data/")
    expect([...after.keys()]).toEqual([...before.keys()].filter((k) => k !== "market_data/AAPL/1hour/2024/02/data.parquet"))
    for (const [k, v] of after) if (k !== "market_data/AAPL/1hour/2024/01/data.parquet") expect(v, k).toBe(before.get(k))

    expect(await removeColdRange(store, "bars", "AAPL", "1hour", from, to, lock)).toEqual({ objectsDeleted: 0, objectsRewritten: 0 })
    expect(await contents("market_data/")).toEqual(after)
    expect(await readCold(store, "bars", "MSFT", "1hour", ...ALL)).toEqual(other)
  })

  it("the warm-up writes hot a row merged into the object after it read it, before removing it cold", async () => {
    const rows = sampleBars("NVDA", "1hour", T0, 10 * 24)
    const late: Bar = { ...rows[5]!, ts: rows[5]!.ts + 30 * 60_000 }
    await writeCold(store, "bars", rows)
    let injected = false
    // A concurrent writer merges a row into the object just after the warm-up's first read of it.
    const racing: ObjectStore = {
      ...store,
      get: async (key, range) => {
        const bytes = await store.get(key, range)
        if (!injected && key.startsWith("market_data/NVDA/")) {
          injected = true
          await writeCold(store, "bars", [late], { lock: advisoryLock(ns.sql) })
        }
        return bytes
      }
    }
    const moved = await warmUp({ sql: ns.sql, store: racing }, "bars", { symbol: "NVDA", interval: "1hour" }, T0)
    expect(injected).toBe(true)
    const want = [...rows, late].sort((a, b) => a.ts - b.ts)
    expect(moved.rows).toBe(want.length)
    expect(await readHot(ns.sql, "bars", { symbol: "NVDA", interval: "1hour" }, ...ALL)).toEqual(want)
    expect(await readCold(store, "bars", "NVDA", "1hour", ...ALL)).toEqual([])
    expect(new Set(want.map(naturalKey.bars)).size).toBe(want.length)
  })
})
