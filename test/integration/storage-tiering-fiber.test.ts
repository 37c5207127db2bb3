/**
 * The tiering fiber as the engine forks it: a scheduled pass at start, and a pass for a
 * symbol as soon as a SymbolDemoted event for it appears on the lifecycle stream (real
 * Redis and PostgreSQL, local lake).
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { partitionKeys } from "../../streams/keys.ts"
import { demotionFeed, lifecycleStreams, symbolLayers } from "../../src/engine/tiering.ts"
import { DAY_MS, utcDay } from "../../src/domain/time.ts"
import { openRedis } from "../../src/services/redis.ts"
import { STORAGE_DDL, countHot, localObjectStore, readCold, writeHot, type ObjectStore } from "../../src/storage/index.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { tieringFiber } from "../../src/storage/tiering.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const NOW = Date.UTC(2024, 5, 15, 12)
const END = utcDay(NOW) + DAY_MS

let ns: TestNamespace
let store: ObjectStore

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  store = localObjectStore(ns.config.storage.lake)
})

afterAll(async () => {
  await ns?.cleanup()
})

it("runs a pass at start and one per demotion read from the lifecycle stream", async () => {
  const keys = partitionKeys(ns.prefix, 0)
  await ns.redis.hset(keys.snapshots, "META", JSON.stringify({ layer: 3 }))
  // L3 keeps 1-minute bars hot for 90 days (market_data); L1 for 7 (intraday).
  const minute = sampleBars("META", "1min", END - 10 * DAY_MS, 10 * 1440)
  await writeHot(ns.sql, "bars", minute)
  const old = sampleBars("META", "1day", END - 3000 * DAY_MS, 10)
  await writeHot(ns.sql, "bars", old)

  const feedRedis = openRedis(ns.redisUrl, "test-feed")
  const scope = Effect.runSync(Scope.make())
  const config = { retention: ns.config.retention, storage: { ...ns.config.storage, tiering: { every: "1h", on_demotion: true } } }
  await Effect.runPromise(Scope.provide(scope)(tieringFiber({
    sql: ns.sql, store,
    layersOf: symbolLayers(ns.redis, ns.sql, { prefix: ns.prefix, partitions: 1 }),
    demotions: demotionFeed(feedRedis, lifecycleStreams(ns.config), 200)
  }, config, () => NOW)))
  const series = { symbol: "META", interval: "1min" }
  try {
    // The pass at start: the daily bars past L3's five years expire, the minute bars stay hot.
    const deadline = performance.now() + 30_000
    while (await countHot(ns.sql, "bars", { symbol: "META", interval: "1day" }, -Infinity, Infinity) > 0) {
      if (performance.now() > deadline) throw new Error("the pass at start did not run")
      await new Promise((r) => setTimeout(r, 25))
    }
    expect(await countHot(ns.sql, "bars", series, -Infinity, Infinity)).toBe(minute.length)

    await ns.redis.hset(keys.snapshots, "META", JSON.stringify({ layer: 1 }))
    const expectedHot = minute.filter((b) => b.ts >= END - 7 * DAY_MS).length
    // The feed reads entries added after it started; repeat the event until a pass ran.
    while ((await countHot(ns.sql, "bars", series, -Infinity, Infinity)) !== expectedHot) {
      if (performance.now() > deadline) throw new Error("no pass after the demotion")
      await ns.redis.xadd(keys.lifecycle, "*", "type", "SymbolDemoted", "symbol", "META", "from", "3", "to", "1", "at", String(NOW), "cause", "0-1")
      await new Promise((r) => setTimeout(r, 300))
    }
    expect(await readCold(store, "bars", "META", "1min", -Infinity, Infinity)).toHaveLength(minute.length - expectedHot)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    feedRedis.disconnect()
  }
})
