/**
 * The read router returns each key once in the state a move passes through: rows held
 * in both tiers (a warm-up or tiering between its two writes), read whole and page by
 * page over /api/bars, the hot copy winning.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import type { Bar } from "../../src/domain/rows.ts"
import { startApiServer } from "../../src/http/api-bars.ts"
import { STORAGE_DDL, localObjectStore, writeCold, writeHot, type ObjectStore } from "../../src/storage/index.ts"
import { bars } from "../../src/storage/read-router.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2024, 0, 1)
const ALL = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY] as const

let ns: TestNamespace
let store: ObjectStore

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  store = localObjectStore(ns.config.storage.lake)
})

afterAll(async () => {
  await ns?.cleanup()
})

it("a key held in both tiers mid-move is read once, the hot copy, whole and page by page", async () => {
  const rows = sampleBars("AAPL", "1hour", T0, 60 * 24)
  await writeCold({ sql: ns.sql, store }, "bars", rows)
  // Half-way through a warm-up: the second month is written hot, not yet removed cold.
  const moving = rows.filter((b) => b.ts >= Date.UTC(2024, 1, 1)).map((b) => ({ ...b, trades: b.trades + 1 }))
  await writeHot(ns.sql, "bars", moving)
  const want = rows.map((b) => (b.ts >= Date.UTC(2024, 1, 1) ? { ...b, trades: b.trades + 1 } : b))
  expect(await bars({ sql: ns.sql, store }, "AAPL", "1hour", ...ALL)).toEqual(want)

  const api = await startApiServer({ sql: ns.sql, store })
  try {
    const got: Bar[] = []
    let next: string | null = null
    do {
      const qs: string = `symbol=AAPL&interval=1hour&from=${T0}&to=${T0 + 60 * 86_400_000}&limit=97${next ? `&next=${next}` : ""}`
      const body = (await (await fetch(`http://127.0.0.1:${api.port}/api/bars?${qs}`)).json()) as { bars: Bar[]; next: string | null }
      got.push(...body.bars)
      next = body.next
    } while (next !== null)
    expect(got).toEqual(want)
  } finally {
    await api.close()
  }
})
