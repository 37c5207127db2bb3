/**
 * kill -9 of a `strata workers` process in the middle of a command, five times over: each
 * new process reclaims the pending command (XAUTOCLAIM after claim_idle_ms) and carries
 * on from the coverage already recorded; the command completes with every row stored
 * exactly once, in the right tier, and no gap.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import type { DataType } from "../../config/schema.ts"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { openObjectStore } from "../../src/storage/object-store.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import {
  expectedRows, finishedCommands, progressDone, SMALL_RETENTION, spawnWorkers, storedRows, waitForFinished, writeConfigFile,
  type WorkerProcess
} from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const DATA_TYPES: DataType[] = ["market_data", "intraday", "news", "corporate_actions", "social_sentiment"]
const KILLS = 5

describe("backfill under kill -9", () => {
  let ns: TestNamespace
  let dir: string
  let proc: WorkerProcess | undefined

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-chaos-"))
    ns = await testNamespace()
  })
  afterEach(async () => {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill("SIGKILL")
      await proc.exited
    }
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`completes through reclaim after ${KILLS} kills, with no duplicate and no gap`, async () => {
    const overrides = {
      retention: SMALL_RETENTION,
      storage: { lake: join(dir, "lake") },
      backfill: {
        workers: 1, claim_idle_ms: 800, block_ms: 200, max_deliveries: 50,
        chunk_days: { "1day": 1, "1hour": 1, "5min": 1, "1min": 1, tick: 1, events: 5 }
      },
      // Slow enough that every kill lands mid-command.
      providers: { synthetic: { rate_limit: { requests_per_second: 8, max_concurrent: 0 } } }
    }
    const configFile = writeConfigFile(dir, overrides)
    const id = "bf-chaos-1"
    await ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*",
      ...commandFields({ id, symbol: "AAPL", layer: 2, from: 0, dataTypes: DATA_TYPES, at: AT, cause: MANUAL_CAUSE, priority: 2 }))

    let kills = 0
    proc = spawnWorkers(ns.env, configFile)
    for (let k = 0; k < KILLS; k++) {
      const before = await progressDone(ns.sql, id)
      await waitUntil(`progress past ${before + 3} tasks (kill ${k + 1})`, async () => (await progressDone(ns.sql, id)) >= before + 3, 60_000)
      expect(await finishedCommands(ns.sql)).toEqual([])
      proc.child.kill("SIGKILL")
      await proc.exited
      kills++
      proc = spawnWorkers(ns.env, configFile)
    }
    await waitForFinished(ns.sql, 1, 120_000)
    proc.child.kill("SIGTERM")
    await proc.exited

    expect(kills).toBe(KILLS)
    const [row] = await ns.sql<{ status: string; deliveries: number }[]>`SELECT status, deliveries FROM backfill_progress WHERE command_id = ${id}`
    expect(row?.status).toBe("done")
    // One delivery per process that worked on it: the first read plus one reclaim per kill.
    expect(row?.deliveries).toBeGreaterThanOrEqual(KILLS + 1)
    const keys = partitionKeys(ns.prefix, 0)
    expect(((await ns.redis.xpending(keys.backfill, GROUPS.workers)) as unknown[])[0]).toBe(0)
    expect(await ns.redis.xlen(keys.backfillDead)).toBe(0)

    const store = openObjectStore({ ...ns.config.storage, lake: join(dir, "lake") })
    try {
      const policy = loadConfig({ env: {}, overrides }).retention
      for (const series of expectedRows(policy, 2, DATA_TYPES, AT, "AAPL", 42)) {
        const stored = await storedRows(ns.sql, store, series.kind, "AAPL", series.interval)
        expect(stored.hot, `hot ${series.kind} ${series.interval}`).toEqual(series.hot)
        expect(stored.cold, `cold ${series.kind} ${series.interval}`).toEqual(series.cold)
      }
    } finally {
      await store.close()
    }
  }, 240_000)
})
