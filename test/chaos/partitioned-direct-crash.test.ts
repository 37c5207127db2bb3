/**
 * Crash test of producers writing partitions' direct streams: two `strata engine`
 * processes share 4 partitions while scores arrive straight into each symbol's direct
 * stream (none through ingress); one of them, chosen at random, is killed with SIGKILL
 * after each segment reaches the engines, and restarted. Afterwards every partition's
 * snapshots, lifecycle and backfill streams and counters equal those of one in-process
 * engine over the same direct input, every entry was applied exactly once (nothing lost,
 * nothing doubled), nothing is left pending, and each symbol's lifecycle chain is unbroken.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { stringify } from "yaml"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { prng, workloadArray } from "../../fixtures/workload.ts"
import { createLogger } from "../../src/services/logger.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { scoresSymbol } from "../../streams/scores-wire.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { installSettled, splitByPath, startPartitioned } from "../helpers/partitioned.ts"
import { appliedEntries, expectEndsAsReference } from "../helpers/partitioned-outcome.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import { exited, startEngineProcess } from "../helpers/processes.ts"

const COUNT = 4
const ENGINES = 2
const KILLS = 3
const OVERRIDES = {
  partitions: COUNT, backfill: { enabled: false }, archive: { enabled: false },
  ingest: { block_ms: 200 }, lease: { ttl_ms: 2_000, join_debounce_ms: 500 }
}

/** Every entry into its symbol's direct stream (the input holds only entries with a valid symbol). */
const feedDirect = (ns: TestNamespace, entries: readonly StreamEntry[]) =>
  Promise.all([...splitByPath(ns.prefix, COUNT, entries, () => true).viaDirect].map(([key, list]) => xaddAll(ns.redis, key, list, 250)))

describe("direct writes through engine crashes", () => {
  let crash: TestNamespace
  let ref: TestNamespace
  let env: NodeJS.ProcessEnv
  const entries = workloadArray({ events: 12_000, symbols: 300, seed: 20261211, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, lateShare: 0.01, badShare: 0.005 })
    .filter((e) => scoresSymbol(e.fields) !== undefined)

  beforeAll(async () => {
    crash = await testNamespace(OVERRIDES)
    ref = await testNamespace(OVERRIDES)
    const dir = mkdtempSync(join(tmpdir(), "strata-dcrash-"))
    writeFileSync(join(dir, "partitioned.yaml"), stringify(OVERRIDES))
    env = { ...crash.env, STRATA_CONFIG: join(dir, "partitioned.yaml") }
  })
  afterAll(async () => {
    await crash?.cleanup()
    await ref?.cleanup()
  })

  it(`applies every direct entry exactly once through ${KILLS} kill -9 of one of ${ENGINES} engines`, async () => {
    const reference = await startPartitioned(ref, createLogger("test-ref", process.env["LOG_LEVEL"] ?? "silent"))
    await waitUntil("the reference engine holds every partition", () => reference.handles.runner.held().length === COUNT, 60_000)
    await feedDirect(ref, entries)
    await waitUntil("the reference run settled", () => installSettled(ref, COUNT), 300_000)
    await reference.stop()

    const rand = prng(43)
    const engines: ChildProcess[] = Array.from({ length: ENGINES }, () => startEngineProcess(env))
    try {
      await waitUntil("the engines hold every partition", async () => {
        for (let p = 0; p < COUNT; p++) if ((await crash.redis.hget(partitionKeys(crash.prefix, p, COUNT).lease, "owner")) === null) return false
        return true
      }, 120_000)
      const segment = Math.ceil(entries.length / (KILLS + 1))
      let kills = 0
      for (let from = 0; from < entries.length; from += segment) {
        const before = await appliedEntries(crash, COUNT)
        await feedDirect(crash, entries.slice(from, from + segment))
        if (from + segment >= entries.length) break
        await waitUntil("the engines to make progress", async () => (await appliedEntries(crash, COUNT)) > before, 120_000)
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 40)))
        const victim = Math.floor(rand() * ENGINES)
        engines[victim]!.kill("SIGKILL")
        await exited(engines[victim]!)
        kills++
        engines[victim] = startEngineProcess(env)
      }
      await waitUntil("the crashing run settled", () => installSettled(crash, COUNT), 300_000)
      expect(kills).toBe(KILLS)
      expect(await appliedEntries(crash, COUNT)).toBe(entries.length)
      await expectEndsAsReference(crash, ref, COUNT)
    } finally {
      for (const e of engines) e.kill("SIGKILL")
      await Promise.all(engines.map(exited))
    }
  }, 900_000)
})
