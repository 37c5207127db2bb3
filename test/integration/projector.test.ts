/**
 * The companies projector against a real PostgreSQL: one transaction per batch,
 * idempotent (a redelivered batch changes nothing), monotonic (an older event never moves
 * a row back), and each layer's *_updated set by the event that changed that layer.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { Layer } from "../../src/domain/layers.ts"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { projectBatch, type LifecycleRow } from "../../src/engine/projector.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const T = Date.UTC(2026, 0, 5, 14, 30)
const row = (symbol: string, from: Layer, to: Layer, at: number, seq: number, liquidity = 0.9): LifecycleRow => ({
  type: from === 0 ? "SymbolQualified" : to === 0 ? "SymbolDisqualified" : to > from ? "SymbolPromoted" : "SymbolDemoted",
  symbol, from, to, at, cause: `${at}-${seq}`, scores: { liquidity }
})

describe("companies projector", () => {
  let ns: TestNamespace
  beforeEach(async () => {
    ns = await testNamespaceWith(COMPANIES_DDL)
  })
  afterEach(async () => ns.cleanup())

  const companies = async () => (await ns.sql`
    SELECT symbol, layer, layer1_qualified AS l1, layer2_qualified AS l2, layer3_qualified AS l3,
           extract(epoch from layer1_updated) * 1000 AS u1, extract(epoch from layer2_updated) * 1000 AS u2,
           extract(epoch from layer3_updated) * 1000 AS u3, liquidity_score AS liq, last_event_id AS id
    FROM companies ORDER BY symbol`).map((r) => ({ ...r, u1: r["u1"] === null ? null : Number(r["u1"]), u2: r["u2"] === null ? null : Number(r["u2"]), u3: r["u3"] === null ? null : Number(r["u3"]) }))

  it("projects a batch with several events per symbol, idempotently and monotonically", async () => {
    const batch = [row("AAPL", 0, 1, T, 0, 0.7), row("MSFT", 0, 3, T, 1), row("AAPL", 1, 2, T + 60_000, 0, 0.8)]
    await projectBatch(ns.sql, batch)
    const first = await companies()
    expect(first).toEqual([
      { symbol: "AAPL", layer: 2, l1: true, l2: true, l3: false, u1: T, u2: T + 60_000, u3: null, liq: 0.8, id: `${T + 60_000}-0` },
      { symbol: "MSFT", layer: 3, l1: true, l2: true, l3: true, u1: T, u2: T, u3: T, liq: 0.9, id: `${T}-1` }
    ])
    // Redelivered: nothing changes, no duplicate history.
    await projectBatch(ns.sql, batch)
    expect(await companies()).toEqual(first)
    expect((await ns.sql`SELECT count(*)::int AS n FROM layer_transitions`)[0]?.["n"]).toBe(3)
    // An older event arriving late never moves the row back.
    await projectBatch(ns.sql, [row("AAPL", 2, 0, T - 60_000, 0)])
    expect((await companies())[0]).toEqual(first[0])
    // A newer demotion does; L1's qualification did not change, so layer1_updated stays.
    await projectBatch(ns.sql, [row("AAPL", 2, 1, T + 120_000, 0, 0.95)])
    expect((await companies())[0]).toMatchObject({ layer: 1, l1: true, l2: false, u1: T, u2: T + 120_000 })
    // The legacy query keeps working.
    const legacy = await ns.sql`SELECT symbol FROM companies WHERE layer1_qualified ORDER BY liquidity_score DESC`
    expect(legacy.map((r) => r["symbol"])).toEqual(["AAPL", "MSFT"])
  })
})
