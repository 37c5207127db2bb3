/**
 * Promotion warms data up, against real PostgreSQL, Redis and a lake folder: a symbol
 * backfilled at L1 and then promoted to L3 ends with every key once across both tiers,
 * the hot tier holding exactly the L3 hot window and the cold tier the rest, coverage
 * per tier matching, and no provider request for a range already held. Both places that
 * run the warm-up are checked: the promoted command's execution and the tiering pass.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { DataType } from "../../config/schema.ts"
import { executeCommand, type ExecuteDeps } from "../../src/backfill/execute.ts"
import { owedTargets } from "../../src/backfill/planner.ts"
import { PROGRESS_DDL } from "../../src/backfill/progress.ts"
import type { FetchRequest, Provider } from "../../src/backfill/providers/provider.ts"
import { syntheticProvider } from "../../src/backfill/providers/synthetic.ts"
import { unlimited } from "../../src/backfill/rate-limit.ts"
import type { Layer } from "../../src/domain/layers.ts"
import { naturalKey } from "../../src/domain/rows.ts"
import { intersectRange, type Range } from "../../src/domain/ranges.ts"
import { symbolLayers } from "../../src/engine/tiering.ts"
import { migrate } from "../../src/services/postgres.ts"
import { STORAGE_DDL, coverageByTier, coveredRanges, openObjectStore, type ObjectStore } from "../../src/storage/index.ts"
import { readSeries } from "../../src/storage/read-router.ts"
import { runTiering } from "../../src/storage/tiering.ts"
import { MANUAL_CAUSE, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { expectedRows, storedRows } from "../helpers/backfill-fixture.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const SEED = 7
const DATA_TYPES: DataType[] = ["market_data", "news"]
// L3 keeps more history than L1 for bars (a cold part to fetch) and the same for news (nothing to fetch).
const RETENTION = {
  L1: {
    market_data: { hot_days: 3, cold_days: 12, intervals: ["1day", "1hour"] },
    news: { hot_days: 2, cold_days: 10 }
  },
  L3: {
    market_data: { hot_days: 9, cold_days: 20, intervals: ["1day", "1hour"] },
    news: { hot_days: 6, cold_days: 10 }
  }
}
const CHUNKS = { "1day": 5, "1hour": 4, "5min": 3, "1min": 2, tick: 1, events: 7 }

describe("promotion warms data up", () => {
  let ns: TestNamespace
  let lake: string
  let store: ObjectStore
  let requests: FetchRequest[]
  let deps: ExecuteDeps

  beforeEach(async () => {
    lake = mkdtempSync(join(tmpdir(), "strata-lake-"))
    ns = await testNamespace({ retention: RETENTION, storage: { lake }, backfill: { chunk_days: CHUNKS } })
    await migrate(ns.sql, ns.schema, [...STORAGE_DDL, ...PROGRESS_DDL])
    store = openObjectStore(ns.config.storage)
    requests = []
    const synthetic = syntheticProvider(SEED, unlimited)
    // Counts every request the way a provider sees it.
    const provider: Provider = { ...synthetic, fetch: (req, session) => { requests.push(req); return synthetic.fetch(req, session) } }
    deps = {
      sql: ns.sql, store, redis: ns.redis, snapshotsKey: partitionKeys(ns.prefix, 0).snapshots, provider,
      policy: ns.config.retention, backfill: ns.config.backfill, unsettled: (what, e) => { throw new Error(`${what}: ${String(e)}`) }
    }
  })
  afterEach(async () => {
    await store.close()
    await ns.cleanup()
    rmSync(lake, { recursive: true, force: true })
  })

  const setLayer = (layer: Layer) => ns.redis.hset(deps.snapshotsKey, "AAPL", JSON.stringify({ layer, context: {} }))
  const command = (id: string, layer: Layer, from: Layer): BackfillCommand =>
    ({ id, symbol: "AAPL", layer, from, dataTypes: DATA_TYPES, at: AT, cause: MANUAL_CAUSE, priority: layer })
  const run = (cmd: BackfillCommand) => Effect.runPromise(executeCommand(deps, cmd))

  const backfillL1 = async () => {
    await setLayer(1)
    const first = await run(command("bf-l1", 1, 0))
    expect(first.status).toBe("done")
    expect(first.warmed).toBe(0)
    await expectTiers(1)
  }

  /** Stored rows per tier are exactly the layer's windows; each key once, over the tiers and through the read router. */
  const expectTiers = async (layer: Layer) => {
    for (const series of expectedRows(ns.config.retention, layer, DATA_TYPES, AT, "AAPL", SEED)) {
      const what = `L${layer} ${series.kind} ${series.interval}`
      const stored = await storedRows(ns.sql, store, series.kind, "AAPL", series.interval)
      expect(stored.hot, `hot ${what}`).toEqual(series.hot)
      expect(stored.cold, `cold ${what}`).toEqual(series.cold)
      const key = naturalKey[series.kind] as (r: unknown) => string
      const read = (await readSeries({ sql: ns.sql, store }, series.kind, "AAPL", series.interval, 0, Date.UTC(2200, 0, 1))).map(key)
      expect(new Set(read).size, `${what}: a key read twice`).toBe(read.length)
      expect(read.length, what).toBe(series.hot.length + series.cold.length)
    }
    for (const t of owedTargets(ns.config.retention, layer, DATA_TYPES, AT)) {
      expect(await coverageByTier(ns.sql, t.kind, "AAPL", t.interval), `coverage L${layer} ${t.kind} ${t.interval}`).toEqual({
        hot: [{ from: t.hotFrom, to: t.window.to }], cold: [{ from: t.window.from, to: t.hotFrom }]
      })
    }
  }

  /** Rows L1 holds cold that L3 holds hot: what the warm-up must move. */
  const warmable = (): number => {
    const l3 = expectedRows(ns.config.retention, 3, DATA_TYPES, AT, "AAPL", SEED)
    let n = 0
    for (const s1 of expectedRows(ns.config.retention, 1, DATA_TYPES, AT, "AAPL", SEED)) {
      const s3 = l3.find((s) => s.kind === s1.kind && s.interval === s1.interval)!
      const key = naturalKey[s1.kind] as (r: unknown) => string
      const hot3 = new Set(s3.hot.map(key))
      n += s1.cold.filter((r) => hot3.has(key(r))).length
    }
    expect(n).toBeGreaterThan(20)
    return n
  }

  const heldBefore = async (): Promise<Map<string, Range[]>> => {
    const out = new Map<string, Range[]>()
    for (const t of owedTargets(ns.config.retention, 3, DATA_TYPES, AT)) out.set(`${t.kind}|${t.interval}`, await coveredRanges(ns.sql, t.kind, "AAPL", t.interval))
    return out
  }
  const expectNothingRefetched = (held: Map<string, Range[]>, asked: readonly FetchRequest[]) => {
    for (const r of asked) {
      for (const h of held.get(`${r.kind}|${r.interval}`) ?? []) {
        expect(intersectRange(h, r), `${r.kind} ${r.interval} [${r.from}, ${r.to}) asked again`).toBeUndefined()
      }
    }
  }

  it("the promoted command moves the held rows hot and fetches only what L1 did not hold", async () => {
    await backfillL1()
    const held = await heldBefore()
    requests = []
    await setLayer(3)
    const promoted = await run(command("bf-l3", 3, 1))
    expect(promoted.status).toBe("done")
    expect(promoted.warmed).toBe(warmable())
    await expectTiers(3)
    expectNothingRefetched(held, requests)
    // Only the bars L1 never owed (days 13–20) were fetched; news L3 owes nothing new.
    expect(requests.length).toBeGreaterThan(0)
    expect(requests.every((r) => r.kind === "bars")).toBe(true)

    // The same command again: nothing fetched, nothing moved.
    requests = []
    const again = await run(command("bf-l3-again", 3, 3))
    expect(again).toMatchObject({ status: "done", warmed: 0, tasks: 0 })
    expect(requests).toEqual([])
    await expectTiers(3)
  })

  it("a tiering pass after the promotion warms the held rows up before any command runs", async () => {
    await backfillL1()
    await setLayer(3)
    const report = await runTiering({ sql: ns.sql, store, layersOf: symbolLayers(ns.redis, ns.sql, { prefix: ns.prefix, partitions: 1 }) }, ns.config.retention, AT)
    expect(report.warmed).toBe(warmable())
    expect(report.moved).toBe(0)
    const held = await heldBefore()
    requests = []
    const promoted = await run(command("bf-l3", 3, 1))
    expect(promoted.warmed).toBe(0)
    await expectTiers(3)
    expectNothingRefetched(held, requests)
    // A second pass finds nothing to move either way.
    expect(await runTiering({ sql: ns.sql, store, layersOf: symbolLayers(ns.redis, ns.sql, { prefix: ns.prefix, partitions: 1 }) }, ns.config.retention, AT))
      .toMatchObject({ moved: 0, warmed: 0, hotExpired: 0, objectsDeleted: 0, objectsTrimmed: 0 })
  })
})
