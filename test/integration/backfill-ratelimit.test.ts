/**
 * Two `strata workers` processes sharing one polygon limit of N requests per second (the
 * bottleneck limiter on Redis): counted at the Polygon-shaped server, no one-second window
 * ever holds more than N requests, and a 429 with Retry-After is honoured — the same
 * request is not asked again before Retry-After has passed — and does not fail the command.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import type { DataType } from "../../config/schema.ts"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { openObjectStore } from "../../src/storage/object-store.ts"
import { partitionKeys } from "../../streams/keys.ts"
import {
  expectedRows, finishedCommands, spawnWorkers, storedRows, waitForFinished, writeConfigFile, type WorkerProcess
} from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { maxInWindow, startPolygonServer, type PolygonServer } from "../helpers/polygon-server.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const N = 10
const DATA_TYPES: DataType[] = ["market_data"]

describe("shared provider limit across worker processes", () => {
  let ns: TestNamespace
  let server: PolygonServer
  let dir: string
  const procs: WorkerProcess[] = []

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-rl-"))
    server = await startPolygonServer({ pageSize: 50_000 })
    ns = await testNamespace()
  })
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null) p.child.kill("SIGKILL")
      await p.exited
    }
    await server.close()
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`never exceeds ${N} requests per second and honours Retry-After`, async () => {
    const overrides = {
      retention: { L2: { market_data: { hot_days: 3, cold_days: 12, intervals: ["1day", "1hour", "5min"] } } },
      storage: { lake: join(dir, "lake") },
      backfill: {
        workers: 2, provider: "polygon", block_ms: 200,
        chunk_days: { "1day": 2, "1hour": 2, "5min": 2, "1min": 2, tick: 1, events: 30 }
      },
      providers: { polygon: { base_url: server.url, rate_limit: { requests_per_second: N, max_concurrent: 0 } } }
    }
    const configFile = writeConfigFile(dir, overrides)
    // The first aggregates request is refused with 429, Retry-After: 1 (second).
    server.script({ status: 429, retryAfter: "1", pathPrefix: "/v2/aggs/" })
    const symbols = ["AAPL", "MSFT", "NVDA", "AMD"]
    const stream = partitionKeys(ns.prefix, 0).backfill
    // At info level, so each process says when its workers run and which commands it finished.
    const env = { POLYGON_API_KEY: server.apiKey, LOG_LEVEL: "info" }
    procs.push(spawnWorkers(ns.env, configFile, env), spawnWorkers(ns.env, configFile, env))
    // Both processes run their workers before the first command is published: otherwise the
    // process that starts first can take all four, and the limit is never shared.
    await waitUntil("both worker processes running", () => procs.every((p) => p.output().includes("backfill workers running")), 90_000)
    for (const symbol of symbols) {
      await ns.redis.xadd(stream, "*",
        ...commandFields({ id: `bf-rl-${symbol}`, symbol, layer: 2, from: 0, dataTypes: DATA_TYPES, at: AT, cause: MANUAL_CAUSE, priority: 2 }))
    }
    await waitForFinished(ns.sql, symbols.length, 120_000)

    expect((await finishedCommands(ns.sql)).map((c) => c.status)).toEqual(symbols.map(() => "done"))
    // Both processes took part: each one finished at least one command.
    for (const p of procs) expect(p.output(), `process ${p.pid}`).toContain("backfill command finished")
    // Counted at the server: every request, the refused one included.
    const times = server.log.map((r) => r.at)
    expect(times.length).toBeGreaterThan(3 * N)
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(N)

    const refused = server.log.filter((r) => r.status === 429)
    expect(refused.length).toBe(1)
    const first = refused[0]!
    const retry = server.log.find((r) => r.key === first.key && r.at > first.at)
    expect(retry?.status).toBe(200)
    expect(retry!.at - first.at).toBeGreaterThanOrEqual(1000)

    const store = openObjectStore({ ...ns.config.storage, lake: join(dir, "lake") })
    try {
      const policy = loadConfig({ env: {}, overrides }).retention
      for (const symbol of symbols) {
        for (const series of expectedRows(policy, 2, DATA_TYPES, AT, symbol, 42)) {
          const stored = await storedRows(ns.sql, store, series.kind, symbol, series.interval)
          expect(stored.hot, `${symbol} hot ${series.interval}`).toEqual(series.hot)
          expect(stored.cold, `${symbol} cold ${series.interval}`).toEqual(series.cold)
        }
      }
    } finally {
      await store.close()
    }
  }, 180_000)
})
