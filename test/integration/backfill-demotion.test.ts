/**
 * A symbol demoted or disqualified after its command was issued is owed only its current
 * layer's history: the workers shrink the command to that layer's policy (or cancel it
 * when that layer owes nothing of its data types). Manual commands keep their layer.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { DataType } from "../../config/schema.ts"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import type { Layer } from "../../src/domain/layers.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { coveredRanges } from "../../src/storage/coverage.ts"
import { openObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { expectedRows, finishedCommands, progressDone, runWorkers, storedRows, waitForFinished } from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const TYPES: DataType[] = ["market_data", "news"]

describe("backfill after a demotion", () => {
  let ns: TestNamespace
  let dir: string
  let store: ObjectStore
  let workers: { stop: () => Promise<void> }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-dm-"))
    ns = await testNamespace({
      retention: {
        L0: { market_data: { hot_days: 0, cold_days: 0, intervals: ["1day"] } },
        L1: { market_data: { hot_days: 2, cold_days: 5, intervals: ["1day"] }, news: { hot_days: 0, cold_days: 0 } },
        L3: {
          market_data: { hot_days: 3, cold_days: 10, intervals: ["1day", "1hour"] },
          news: { hot_days: 4, cold_days: 8 }
        }
      },
      storage: { lake: join(dir, "lake") },
      backfill: { workers: 1, block_ms: 100, chunk_days: { "1day": 1, "1hour": 1, "5min": 1, "1min": 1, tick: 1, events: 1 } },
      // Slow enough to demote a symbol while its command runs.
      providers: { synthetic: { rate_limit: { requests_per_second: 8, max_concurrent: 0 } } }
    })
    workers = await runWorkers(ns.config, ns)
    store = openObjectStore(ns.config.storage)
  })
  afterEach(async () => {
    await workers.stop()
    await store.close()
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  const demoteTo = (symbol: string, layer: Layer) =>
    ns.redis.hset(partitionKeys(ns.prefix, 0).snapshots, symbol, JSON.stringify({ layer, context: {} }))
  const issue = (id: string, symbol: string, cause: string) => ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*",
    ...commandFields({ id, symbol, layer: 3, from: 0, dataTypes: TYPES, at: AT, cause, priority: 3 }))

  const storedAll = async (symbol: string) => {
    const out: Record<string, { hot: number; cold: number }> = {}
    for (const [kind, interval] of [["bars", "1day"], ["bars", "1hour"], ["news", ""]] as const) {
      const s = await storedRows(ns.sql, store, kind, symbol, interval)
      out[`${kind}|${interval}`] = { hot: s.hot.length, cold: s.cold.length }
    }
    return out
  }

  it("shrinks an L3 command to L1's policy, cancels one for a disqualified symbol, keeps a manual one", async () => {
    await demoteTo("AAPL", 1)
    await demoteTo("MSFT", 0)
    await demoteTo("NVDA", 1)
    await issue("bf-a", "AAPL", "1767798000000-0")
    await issue("bf-b", "MSFT", "1767798000000-1")
    await issue("bf-c", "NVDA", MANUAL_CAUSE)
    await waitForFinished(ns.sql, 3)
    expect(await finishedCommands(ns.sql)).toEqual([
      { command_id: "bf-a", status: "shrunk" },
      { command_id: "bf-b", status: "cancelled" },
      { command_id: "bf-c", status: "done" }
    ])
    // AAPL holds exactly what L1 owes: 1day bars only, no 1hour bars, no news.
    for (const series of expectedRows(ns.config.retention, 1, TYPES, AT, "AAPL", 42)) {
      const stored = await storedRows(ns.sql, store, series.kind, "AAPL", series.interval)
      expect(stored.hot).toEqual(series.hot)
      expect(stored.cold).toEqual(series.cold)
    }
    const aapl = await storedAll("AAPL")
    expect(aapl["bars|1hour"]).toEqual({ hot: 0, cold: 0 })
    expect(aapl["news|"]).toEqual({ hot: 0, cold: 0 })
    expect(Object.values(await storedAll("MSFT"))).toEqual([{ hot: 0, cold: 0 }, { hot: 0, cold: 0 }, { hot: 0, cold: 0 }])
    // The manual command is served at L3 whatever the symbol's layer.
    for (const series of expectedRows(ns.config.retention, 3, TYPES, AT, "NVDA", 42)) {
      const stored = await storedRows(ns.sql, store, series.kind, "NVDA", series.interval)
      expect(stored.hot).toEqual(series.hot)
      expect(stored.cold).toEqual(series.cold)
    }
  })

  it("shrinks the rest of a running command when the symbol is demoted mid-way", async () => {
    await demoteTo("AMD", 3)
    await issue("bf-d", "AMD", "1767798000000-2")
    await waitUntil("a few tasks done", async () => (await progressDone(ns.sql, "bf-d")) >= 3)
    await demoteTo("AMD", 1)
    await waitForFinished(ns.sql, 1)
    const [row] = await ns.sql<{ status: string; effective_layer: number; done: number }[]>`
      SELECT status, effective_layer, done FROM backfill_progress WHERE command_id = 'bf-d'`
    expect(row?.status).toBe("shrunk")
    expect(row?.effective_layer).toBe(1)
    // L3 owed 10 days of 1day bars, 10 of 1hour bars and 8 of news, one task a day.
    expect(row?.done).toBeLessThan(28)
    // Everything L1 owes is there …
    for (const series of expectedRows(ns.config.retention, 1, TYPES, AT, "AMD", 42)) {
      const stored = await storedRows(ns.sql, store, series.kind, "AMD", series.interval)
      expect(stored.hot).toEqual(series.hot)
      expect(stored.cold).toEqual(series.cold)
    }
    // … and what only L3 owed was cut short.
    const hourly = await coveredRanges(ns.sql, "bars", "AMD", "1hour")
    const news = await coveredRanges(ns.sql, "news", "AMD", "")
    const days = [...hourly, ...news].reduce((n, r) => n + (r.to - r.from) / DAY_MS, 0)
    expect(days).toBeLessThan(18)
  })
})
