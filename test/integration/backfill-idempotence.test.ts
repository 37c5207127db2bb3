/**
 * Idempotence and self-healing with the polygon provider against the local Polygon-shaped
 * server (which counts requests): the same command again fetches nothing and rewrites
 * nothing; after deleting some hot rows and one cold day and clearing their coverage,
 * the same command fetches exactly that gap and the store is whole again.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { startWorkers } from "../../src/app/worker-process.ts"
import type { DataType } from "../../config/schema.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { createLogger } from "../../src/services/logger.ts"
import { clearCoverage } from "../../src/storage/coverage.ts"
import { deleteHot } from "../../src/storage/hot-store.ts"
import { removeColdRange } from "../../src/storage/cold-store.ts"
import { openObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { expectedRows, SMALL_CHUNKS, SMALL_RETENTION, storedRows, waitForFinished } from "../helpers/backfill-fixture.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { startPolygonServer, type PolygonServer } from "../helpers/polygon-server.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1) // a Wednesday
const END = Date.UTC(2026, 0, 8)
const DATA_TYPES: DataType[] = ["market_data", "intraday", "news", "corporate_actions", "social_sentiment"]

describe("backfill idempotence and self-healing", () => {
  let ns: TestNamespace
  let server: PolygonServer
  let lake: string
  let store: ObjectStore
  let stopWorkers: () => Promise<void>

  beforeEach(async () => {
    server = await startPolygonServer({ pageSize: 1000 })
    lake = mkdtempSync(join(tmpdir(), "strata-lake-"))
    ns = await testNamespace({
      retention: SMALL_RETENTION,
      storage: { lake },
      backfill: { workers: 2, provider: "polygon", chunk_days: SMALL_CHUNKS, block_ms: 200 },
      providers: { polygon: { base_url: server.url, rate_limit: { requests_per_second: 0, max_concurrent: 0 } } }
    })
    const scope = Effect.runSync(Scope.make())
    const log = createLogger("test-workers", process.env["LOG_LEVEL"] ?? "silent")
    await Effect.runPromise(Scope.provide(scope)(startWorkers(ns.config, log, ns, { POLYGON_API_KEY: server.apiKey })))
    stopWorkers = () => Effect.runPromise(Scope.close(scope, Exit.void))
    store = openObjectStore(ns.config.storage)
  })
  afterEach(async () => {
    await stopWorkers()
    await store.close()
    await server.close()
    await ns.cleanup()
    rmSync(lake, { recursive: true, force: true })
  })

  let issued = 0
  const issue = async () => {
    issued++
    const cmd = { id: `bf-test-${issued}`, symbol: "AAPL", layer: 2 as const, from: 0 as const, dataTypes: DATA_TYPES, at: AT, cause: MANUAL_CAUSE, priority: 2 }
    await ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*", ...commandFields(cmd))
    await waitForFinished(ns.sql, issued)
  }

  // Polygon has no sentiment source: the worker skips that kind.
  const expected = () => expectedRows(ns.config.retention, 2, DATA_TYPES, AT, "AAPL", 42, (k) => k !== "social_sentiment")

  const checkWhole = async () => {
    for (const series of expected()) {
      const stored = await storedRows(ns.sql, store, series.kind, "AAPL", series.interval)
      expect(stored.hot, `hot ${series.kind} ${series.interval}`).toEqual(series.hot)
      expect(stored.cold, `cold ${series.kind} ${series.interval}`).toEqual(series.cold)
    }
  }

  const snapshotObjects = async () => {
    const keys = await store.list("")
    return new Map(await Promise.all(keys.map(async (k) => [k, Buffer.from((await store.get(k)) ?? new Uint8Array()).toString("base64")] as const)))
  }

  it("fetches nothing and writes nothing the second time; heals exactly a cleared gap", async () => {
    issued = 0
    await issue()
    await checkWhole()
    const served = server.served()
    expect(served).toBeGreaterThan(10)
    const objects = await snapshotObjects()
    const progress = await ns.sql<{ status: string; skipped: number }[]>`SELECT status, skipped FROM backfill_progress WHERE command_id = 'bf-test-1'`
    expect(progress[0]?.status).toBe("done")
    expect(progress[0]?.skipped).toBeGreaterThan(0)

    // The same command again: no request, no new row, no object rewritten.
    await issue()
    expect(server.served()).toBe(served)
    await checkWhole()
    expect(await snapshotObjects()).toEqual(objects)
    const second = await ns.sql<{ written: number; requests: number }[]>`SELECT written::int, requests FROM backfill_progress WHERE command_id = 'bf-test-2'`
    expect(second[0]).toEqual({ written: 0, requests: 0 })

    // Damage: the event day's hot 1-minute bars, and one cold 5-minute object.
    const hotGap = { from: END - DAY_MS, to: END }
    expect(await deleteHot(ns.sql, "bars", { symbol: "AAPL", interval: "1min" }, hotGap.from, hotGap.to)).toBe(390)
    await clearCoverage(ns.sql, "bars", "AAPL", "1min", hotGap)
    const objectKey = [...objects.keys()].find((k) => k.startsWith("market_data/AAPL/5min/"))!
    const day = ((await storedRows(ns.sql, store, "bars", "AAPL", "5min")).cold[0] as { ts: number }).ts
    const coldGap = { from: day - (day % DAY_MS), to: day - (day % DAY_MS) + DAY_MS }
    await removeColdRange({ sql: ns.sql, store }, "bars", "AAPL", "5min", coldGap.from, coldGap.to)
    await clearCoverage(ns.sql, "bars", "AAPL", "5min", coldGap)
    const mark = server.log.length

    await issue()
    await checkWhole()
    const asked = server.log.slice(mark).map((r) => r.path).sort()
    expect(asked).toEqual([
      `/v2/aggs/ticker/AAPL/range/1/minute/${hotGap.from}/${hotGap.to - 1}`,
      `/v2/aggs/ticker/AAPL/range/5/minute/${coldGap.from}/${coldGap.to - 1}`
    ].sort())
    // Every object of other series is untouched; the 5-minute rows are whole again (checked above).
    const healed = await snapshotObjects()
    for (const [k, v] of objects) if (!k.startsWith("market_data/AAPL/5min/")) expect(healed.get(k), k).toBe(v)
    expect(objectKey).toBeDefined()
  })
})
