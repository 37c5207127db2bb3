/**
 * Crash test of a partitioned install: three `strata engine` processes share 8 partitions
 * while 50,000 scores over 1,000 symbols arrive on the ingress stream; one of them, chosen
 * at random, is killed with SIGKILL after each segment reaches the engines and restarted.
 * Afterwards every partition's snapshots, scores and lifecycle and backfill streams (the
 * lifecycle and backfill entries' IDs aside) equal those of one in-process engine over
 * the same input, every entry was applied exactly once, and each symbol's lifecycle chain
 * runs from layer 0 to its snapshot's layer without a break, across every handoff.
 * How long after each kill every partition was held by a live engine again is reported,
 * not asserted (the machines are shared). And an engine stopped (SIGSTOP) past its leases
 * applies nothing once resumed: the install still ends where one engine alone ends.
 * Each on standalone Redis and on a 3-master Redis Cluster (the reference run on the same
 * server as the run it is compared with).
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { stringify } from "yaml"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { prng, workloadArray } from "../../fixtures/workload.ts"
import { startPartitionedEngine } from "../../src/app/engine-process.ts"
import { createLogger } from "../../src/services/logger.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { installSettled } from "../helpers/partitioned.ts"
import { appliedEntries, expectEndsAsReference } from "../helpers/partitioned-outcome.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import { SERVERS, useServer } from "../helpers/servers.ts"
import { exited, startEngineProcess } from "../helpers/processes.ts"

const COUNT = 8
const ENGINES = 3
const KILLS = 6
const OVERRIDES = {
  partitions: COUNT, backfill: { enabled: false }, archive: { enabled: false },
  ingest: { block_ms: 200 }, lease: { ttl_ms: 2_000, join_debounce_ms: 500 }
}

/** Routed, applied and projected everywhere. */
const settled = (ns: TestNamespace) => installSettled(ns, COUNT)

/** Partitions whose lease nobody holds now, or a process of one of the `dead` pids. */
const ownerless = async (ns: TestNamespace, dead: readonly number[] = []): Promise<number> => {
  let n = 0
  for (let p = 0; p < COUNT; p++) {
    // Owner ids are host:pid:random.
    const owner = await ns.redis.hget(partitionKeys(ns.prefix, p, COUNT).lease, "owner")
    if (owner === null || dead.some((pid) => owner.includes(`:${pid}:`))) n++
  }
  return n
}

/** One in-process engine alone over `entries`, never interrupted; returns when it has settled and stopped. */
const referenceRun = async (ns: TestNamespace, entries: Parameters<typeof xaddAll>[2]) => {
  const scope = Effect.runSync(Scope.make())
  const handles = await Effect.runPromise(Scope.provide(scope)(startPartitionedEngine(ns.config, createLogger("test-ref", process.env["LOG_LEVEL"] ?? "silent"))))
  await waitUntil("the reference engine holds every partition", () => handles.runner.held().length === COUNT, 60_000)
  await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries)
  await waitUntil("the reference run settled", () => settled(ns), 300_000)
  await Effect.runPromise(Scope.close(scope, Exit.void))
}

describe.each(SERVERS)("partitioned install crash safety on %s Redis", (kind) => {
  const server = useServer(kind)
  let crash: TestNamespace
  let ref: TestNamespace
  let env: NodeJS.ProcessEnv
  const entries = workloadArray({ events: 50_000, symbols: 1_000, seed: 20261204, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, lateShare: 0.01, badShare: 0.005 })

  beforeAll(async () => {
    crash = await testNamespace(OVERRIDES, server.url())
    ref = await testNamespace(OVERRIDES, server.url())
    const dir = mkdtempSync(join(tmpdir(), "strata-pcrash-"))
    writeFileSync(join(dir, "partitioned.yaml"), stringify(OVERRIDES))
    env = { ...crash.env, STRATA_CONFIG: join(dir, "partitioned.yaml") }
  })
  afterAll(async () => {
    await crash?.cleanup()
    await ref?.cleanup()
  })

  it(`gives one engine's outputs through ${KILLS} kill -9 of one of ${ENGINES} engines`, async () => {
    await referenceRun(ref, entries)

    const rand = prng(41)
    const engines: ChildProcess[] = Array.from({ length: ENGINES }, () => startEngineProcess(env))
    try {
      await waitUntil("the engines hold every partition", async () => (await ownerless(crash)) === 0, 120_000)
      const scores = ingressKeys(crash.prefix).scores
      const segment = Math.ceil(entries.length / (KILLS + 1))
      const gaps: number[] = []
      let kills = 0
      for (let from = 0; from < entries.length; from += segment) {
        const before = await appliedEntries(crash, COUNT)
        await xaddAll(crash.redis, scores, entries.slice(from, from + segment), 250)
        if (from + segment >= entries.length) break
        await waitUntil("the engines to make progress", async () => (await appliedEntries(crash, COUNT)) > before, 120_000)
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 40)))
        const victim = Math.floor(rand() * ENGINES)
        const deadPid = engines[victim]!.pid!
        engines[victim]!.kill("SIGKILL")
        await exited(engines[victim]!)
        kills++
        const killedAt = performance.now()
        engines[victim] = startEngineProcess(env)
        // Its leases run out within a TTL; the others (or the restarted one) take them.
        await waitUntil("every partition owned by a live engine again", async () => (await ownerless(crash, [deadPid])) === 0, 120_000)
        gaps.push(Math.round(performance.now() - killedAt))
      }
      await waitUntil("the crashing run settled", () => settled(crash), 300_000)
      console.info(`partitioned crash test: ${kills} kills; ms until every partition was held by a live engine again: ${gaps.join(", ")}`)
      expect(kills).toBe(KILLS)

      await expectEndsAsReference(crash, ref, COUNT)
    } finally {
      for (const e of engines) e.kill("SIGKILL")
      await Promise.all(engines.map(exited))
    }
  }, 900_000)

  it("an engine paused past its leases applies nothing once resumed, and the install ends where one engine ends", async () => {
    const input = entries.slice(0, 12_000)
    const pausedRef = await testNamespace(OVERRIDES, server.url())
    const paused = await testNamespace(OVERRIDES, server.url())
    const pausedEnv = { ...env, ...paused.env, STRATA_CONFIG: env["STRATA_CONFIG"] }
    const logA: string[] = []
    const a = startEngineProcess(pausedEnv, logA)
    const b = startEngineProcess(pausedEnv)
    try {
      await referenceRun(pausedRef, input)
      const [first, second] = [input.slice(0, 6_000), input.slice(6_000)]
      const scores = ingressKeys(paused.prefix).scores
      await waitUntil("both engines hold partitions", async () => {
        if ((await ownerless(paused)) !== 0) return false
        const owners = await Promise.all(Array.from({ length: COUNT }, (_, p) => paused.redis.hget(partitionKeys(paused.prefix, p, COUNT).lease, "owner")))
        return [a, b].every((e) => owners.some((o) => o?.includes(`:${e.pid}:`)))
      }, 120_000)
      await xaddAll(paused.redis, scores, first, 250)
      await waitUntil("the first half settled", () => settled(paused), 300_000)
      a.kill("SIGSTOP")
      // While it is stopped its leases and its membership run out: the other engine takes everything.
      await xaddAll(paused.redis, scores, second, 250)
      await waitUntil("the running engine holds every partition", async () => (await ownerless(paused, [a.pid!])) === 0, 120_000)
      await waitUntil("the second half settled", () => settled(paused), 300_000)
      a.kill("SIGCONT")
      // Resumed, it finds its leases gone: it steps nothing (each step is fenced) and rejoins.
      await waitUntil("the resumed engine noticed it lost its partitions", () =>
        logA.join("").includes("FENCED") || logA.join("").includes("membership may have lapsed") || logA.join("").includes("lease lost"), 120_000)
      await waitUntil("the install settled again", () => settled(paused), 300_000)
      await expectEndsAsReference(paused, pausedRef, COUNT)
    } finally {
      for (const e of [a, b]) {
        e.kill("SIGCONT")
        e.kill("SIGKILL")
      }
      await Promise.all([a, b].map(exited))
      await paused.cleanup()
      await pausedRef.cleanup()
    }
  }, 900_000)
})
