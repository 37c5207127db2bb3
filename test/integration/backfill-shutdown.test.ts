/**
 * A graceful stop in the middle of a command: the stopping worker marks the entry idle,
 * so another worker takes it at once instead of after `claim_idle_ms`, and completes it
 * from the coverage already recorded.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { DataType } from "../../config/schema.ts"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { openObjectStore } from "../../src/storage/object-store.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { expectedRows, finishedCommands, progressDone, runWorkers, storedRows, waitForFinished } from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const TYPES: DataType[] = ["market_data"]

describe("backfill across a graceful stop", () => {
  let ns: TestNamespace
  let dir: string

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-stop-"))
    ns = await testNamespace({
      retention: { L2: { market_data: { hot_days: 3, cold_days: 10, intervals: ["1day", "1hour"] } } },
      storage: { lake: join(dir, "lake") },
      // A reclaim by idle time alone would take a minute: longer than this test waits.
      backfill: { workers: 1, block_ms: 100, claim_idle_ms: 60_000, chunk_days: { "1day": 1, "1hour": 1, "5min": 1, "1min": 1, tick: 1, events: 1 } },
      providers: { synthetic: { rate_limit: { requests_per_second: 8, max_concurrent: 0 } } }
    })
  })
  afterEach(async () => {
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it("hands the command in progress to the next worker at once", async () => {
    const first = await runWorkers(ns.config, ns)
    await ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*",
      ...commandFields({ id: "bf-stop", symbol: "AAPL", layer: 2, from: 0, dataTypes: TYPES, at: AT, cause: MANUAL_CAUSE, priority: 2 }))
    await waitUntil("a few tasks done", async () => (await progressDone(ns.sql, "bf-stop")) >= 3)
    await first.stop()
    expect(await finishedCommands(ns.sql)).toEqual([])

    const second = await runWorkers(ns.config, ns)
    try {
      await waitForFinished(ns.sql, 1, 30_000)
    } finally {
      await second.stop()
    }
    const [row] = await ns.sql<{ status: string; deliveries: number }[]>`SELECT status, deliveries FROM backfill_progress WHERE command_id = 'bf-stop'`
    expect(row).toEqual({ status: "done", deliveries: 2 })
    const store = openObjectStore(ns.config.storage)
    try {
      for (const series of expectedRows(ns.config.retention, 2, TYPES, AT, "AAPL", 42)) {
        const stored = await storedRows(ns.sql, store, series.kind, "AAPL", series.interval)
        expect(stored.hot).toEqual(series.hot)
        expect(stored.cold).toEqual(series.cold)
      }
    } finally {
      await store.close()
    }
  })
})
