/**
 * Moving an install of one partition to more (`strata partitions migrate`): a real engine
 * of one partition applies part of the scores, more arrive while it is stopped, the
 * install is moved to 4 partitions, and a partitioned engine applies the rest. Every
 * symbol's snapshot (in its partition under 4), lifecycle and backfill entries, the
 * rejected entries and the companies table equal one engine's over all the scores. And
 * the refusals: a live engine, entries read and not applied, a mismatched count, a move
 * under way, a count above 1 that would change.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { stringify } from "yaml"
import { afterEach, describe, expect, it } from "vitest"
import { workloadArray } from "../../fixtures/workload.ts"
import type { Config } from "../../config/schema.ts"
import { startPartitionedEngine } from "../../src/app/engine-process.ts"
import { startWorkers } from "../../src/app/worker-process.ts"
import { createLogger } from "../../src/services/logger.ts"
import { heartbeat } from "../../streams/membership.ts"
import { readInstallRecord } from "../../streams/install-record.ts"
import { GROUPS, ingressKeys, installKey, membershipKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { runStrata } from "../helpers/cli.ts"
import { runEngine, waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { oneSettled, symbolOutcome } from "../helpers/partition-move.ts"
import { installSettled } from "../helpers/partitioned.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const TO = 4
const OVERRIDES = { backfill: { enabled: false }, archive: { enabled: false }, ingest: { block_ms: 200 }, lease: { ttl_ms: 2_000, join_debounce_ms: 300 } }
const entries = workloadArray({ events: 6_000, symbols: 300, seed: 20261202, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, lateShare: 0.01, badShare: 0.005 })

const log = () => createLogger("test-move", process.env["LOG_LEVEL"] ?? "silent")

/** A partitioned engine in this process; returns its stop. */
const startPartitioned = async (config: Config) => {
  const scope = Effect.runSync(Scope.make())
  const handles = await Effect.runPromise(Scope.provide(scope)(startPartitionedEngine(config, log())))
  return { handles, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** What starting an effect failed with (its message), or undefined when it started. */
const startFailure = async (start: (scope: Scope.Scope) => Promise<unknown>): Promise<string | undefined> => {
  const scope = Effect.runSync(Scope.make())
  try {
    await start(scope)
    return undefined
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const partitionedFailure = (config: Config) => startFailure((scope) => Effect.runPromise(Scope.provide(scope)(startPartitionedEngine(config, log()))))

describe("moving an install of one partition to more", () => {
  const spaces: TestNamespace[] = []
  const space = async () => {
    const ns = await testNamespace(OVERRIDES)
    spaces.push(ns)
    return ns
  }
  afterEach(async () => {
    for (const ns of spaces.splice(0)) await ns.cleanup()
  })

  it(`a one-partition install moved to ${TO} ends where one engine over all the scores ends`, async () => {
    const ref = await space()
    const ns = await space()
    const reference = await runEngine(ref.config)
    await xaddAll(ref.redis, ingressKeys(ref.prefix).scores, entries)
    await waitUntil("the reference engine settled", () => oneSettled(ref), 120_000)
    await reference.stop()

    const first = entries.slice(0, 3_000)
    const whileStopped = entries.slice(3_000, 3_600)
    const rest = entries.slice(3_600)
    const one = await runEngine(ns.config)
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, first)
    await waitUntil("the one-partition engine settled", () => oneSettled(ns), 120_000)
    await one.stop()
    expect(await readInstallRecord(ns.redis, ns.prefix)).toEqual({ partitions: 1, migrating: undefined })
    // Entries nobody read: the router must route exactly these and what follows.
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, whileStopped)

    const moved = await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO), "--json"])
    expect(moved.err).toBe("")
    expect(moved.code).toBe(0)
    const report = JSON.parse(moved.out) as { snapshots: number[]; routerFrom: string }
    expect(report.routerFrom).toBe(first.at(-1)?.id)
    expect(report.snapshots.slice(1).every((n) => n > 0)).toBe(true)
    expect(await readInstallRecord(ns.redis, ns.prefix)).toEqual({ partitions: TO, migrating: undefined })
    // Run again: nothing to do.
    expect((await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO)])).out).toContain("nothing to do")

    const partitioned = await startPartitioned({ ...ns.config, partitions: TO })
    try {
      await waitUntil("the partitioned engine holds every partition", () => partitioned.handles.runner.held().length === TO, 60_000)
      await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, rest)
      await waitUntil("the moved install settled", () => installSettled(ns, TO), 180_000)
    } finally {
      await partitioned.stop()
    }

    const got = await symbolOutcome(ns, TO)
    const expected = await symbolOutcome(ref, 1)
    expect(Object.keys(got.snapshots).length).toBeGreaterThan(200)
    for (const [symbol, p] of Object.entries(got.home)) expect(p, symbol).toBe(symbolPartition(symbol, TO))
    expect(got.snapshots).toEqual(expected.snapshots)
    expect(got.lifecycle).toEqual(expected.lifecycle)
    expect(got.backfill).toEqual(expected.backfill)
    expect(got.dead).toEqual(expected.dead)
    expect(got.companies).toEqual(expected.companies)
    const show = await runStrata(ns.env, ["partitions", "show", "--json"])
    expect(JSON.parse(show.out)).toMatchObject({ recorded: TO, migrating: null })
  }, 600_000)

  it("refuses while an engine holds the lease, while entries are read and not applied, and while engines are members", async () => {
    const ns = await space()
    const one = await runEngine(ns.config)
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries.slice(0, 500))
    await waitUntil("the engine settled", () => oneSettled(ns), 60_000)
    const live = await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO)])
    expect(live.code).toBe(1)
    expect(live.err).toContain("partition 0's lease")
    // The refusal leaves no mark: the engine could restart at once.
    expect(await readInstallRecord(ns.redis, ns.prefix)).toEqual({ partitions: 1, migrating: undefined })
    await one.stop()

    // Entries the engine's group was given and never applied (a kill between read and step).
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries.slice(500, 520))
    await ns.redis.xreadgroup("GROUP", GROUPS.engine, "p0", "COUNT", 5, "STREAMS", ingressKeys(ns.prefix).scores, ">")
    const pending = await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO)])
    expect(pending.code).toBe(1)
    expect(pending.err).toContain("read 5 ingress entries it has not applied")
    const again = await runEngine(ns.config)
    await waitUntil("the engine applied them", () => oneSettled(ns), 60_000)
    await again.stop()

    await heartbeat(ns.redis, membershipKeys(ns.prefix), "other-host:1:abcd", 60_000, 0)
    const member = await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO)])
    expect(member.code).toBe(1)
    expect(member.err).toContain("members of the install (other-host:1:abcd)")
    await ns.redis.del(membershipKeys(ns.prefix).members)
    expect((await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO)])).code).toBe(0)
  }, 300_000)

  it("engines and workers refuse a count the install does not have, and a move under way", async () => {
    const ns = await space()
    const one = await runEngine(ns.config)
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries.slice(0, 200))
    await waitUntil("the engine settled", () => oneSettled(ns), 60_000)
    await one.stop()

    const mismatch = await partitionedFailure({ ...ns.config, partitions: TO })
    expect(mismatch).toContain(`this install has 1 partition`)
    expect(mismatch).toContain(`strata partitions migrate --to ${TO}`)
    // `strata engine` says it in one line and exits 2.
    const dir = mkdtempSync(join(tmpdir(), "strata-move-"))
    writeFileSync(join(dir, "four.yaml"), stringify({ ...OVERRIDES, partitions: TO }))
    const refused = await runStrata({ ...ns.env, STRATA_CONFIG: join(dir, "four.yaml") }, ["engine"])
    expect(refused.code).toBe(2)
    expect(refused.err).toContain(`strata engine: invalid configuration`)
    expect(refused.err).toContain(`move the install with \`strata partitions migrate --to ${TO}\``)
    // The backfill workers check it too.
    const workers = await startFailure((scope) => Effect.runPromise(Scope.provide(scope)(
      startWorkers({ ...ns.config, partitions: TO }, log(), { redisUrl: ns.redisUrl, databaseUrl: ns.databaseUrl }))))
    expect(workers).toContain("this install has 1 partition")

    // An install made before the record: state under partition 0 counts as one partition.
    await ns.redis.del(installKey(ns.prefix))
    expect(await partitionedFailure({ ...ns.config, partitions: TO })).toContain("made before the install record")
    const legacy = await runEngine(ns.config)
    await legacy.stop()
    expect(await readInstallRecord(ns.redis, ns.prefix)).toEqual({ partitions: 1, migrating: undefined })

    // A move that did not finish: every engine refuses until it is run again.
    await ns.redis.hset(installKey(ns.prefix), "migrating", String(TO))
    await expect(runEngine(ns.config)).rejects.toThrow(`run \`strata partitions migrate --to ${TO}\` again to finish it`)
    expect(await partitionedFailure({ ...ns.config, partitions: TO })).toContain("under way")
    const other = await runStrata(ns.env, ["partitions", "migrate", "--to", "6"])
    expect(other.code).toBe(1)
    expect(other.err).toContain(`a move to ${TO} partitions is under way`)
    expect((await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO)])).code).toBe(0)

    // Moved: the one-partition engine is refused, the count is fixed.
    await expect(runEngine(ns.config)).rejects.toThrow(`this install has ${TO} partitions (recorded`)
    expect(await partitionedFailure({ ...ns.config, partitions: 6 })).toContain(`set partitions: ${TO}`)
    const back = await runStrata(ns.env, ["partitions", "migrate", "--to", "6"])
    expect(back.code).toBe(1)
    expect(back.err).toContain("only an install of one partition can be moved")
    const started = await startPartitioned({ ...ns.config, partitions: TO })
    await started.stop()

    const where = await runStrata(ns.env, ["partition", "aapl", "--json"])
    expect(JSON.parse(where.out)).toMatchObject({ symbol: "AAPL", count: TO, partition: symbolPartition("AAPL", TO) })
  }, 300_000)
})
