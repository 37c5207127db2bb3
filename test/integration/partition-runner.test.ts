/**
 * Two engines' partition runners share an install of 8 partitions, and one partition
 * changes hands mid-stream: the snapshots, lifecycle and backfill streams of every
 * partition equal those of one runner holding all 8 over the same input. Scores are
 * written to the partitions' own streams by symbol hash, as the router writes them.
 */
import { Effect, Exit, Scope } from "effect"
import type { Redis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import type { Config } from "../../config/schema.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { partitionRunner, type PartitionRunner } from "../../src/engine/partition-runner.ts"
import { createLogger } from "../../src/services/logger.ts"
import { migrate } from "../../src/services/postgres.ts"
import { openRedis } from "../../src/services/redis.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { fieldRecord } from "../../streams/entry.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const COUNT = 8
const log = createLogger("test-partitions", process.env["LOG_LEVEL"] ?? "silent")

interface Engine {
  readonly runner: PartitionRunner
  readonly stop: () => Promise<void>
}

const startRunner = async (ns: TestNamespace, owner: string): Promise<Engine> => {
  const scope = Effect.runSync(Scope.make())
  const writes = openRedis(ns.redisUrl, `test-${owner}`)
  const runner = await Effect.runPromise(Scope.provide(scope)(partitionRunner({
    config: ns.config, log, writes, sql: ns.sql, owner,
    connection: (name) => Effect.acquireRelease(
      Effect.sync(() => openRedis(ns.redisUrl, name)),
      (r) => Effect.promise(() => r.quit().then(() => undefined, () => r.disconnect()))
    ),
    loop: (_name, once) => Effect.tryPromise(once).pipe(Effect.retry({ times: 1_000_000 }), Effect.forever)
  })))
  return {
    runner,
    stop: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await writes.quit()
    }
  }
}

const take = async (e: Engine, ps: readonly number[]) => {
  for (const p of ps) expect(await Effect.runPromise(e.runner.take(p)), `take ${p}`).toBe(true)
}

/** Write entries to their partitions' streams, each under its own ID. */
const route = async (redis: Redis, prefix: string, entries: readonly StreamEntry[]) => {
  const by = new Map<number, StreamEntry[]>()
  for (const e of entries) {
    const symbol = fieldRecord(e.fields)["symbol"]!
    const p = symbolPartition(symbol, COUNT)
    by.set(p, [...(by.get(p) ?? []), e])
  }
  for (const [p, list] of by) await xaddAll(redis, partitionKeys(prefix, p, COUNT).scores, list)
}

const appliedEntries = async (redis: Redis, prefix: string): Promise<number> => {
  let n = 0
  for (let p = 0; p < COUNT; p++) n += Number((await redis.hget(partitionKeys(prefix, p, COUNT).stats, "entries")) ?? 0)
  return n
}

const projectedAll = async (redis: Redis, prefix: string): Promise<boolean> => {
  for (let p = 0; p < COUNT; p++) {
    const keys = partitionKeys(prefix, p, COUNT)
    const groups = (await redis.xinfo("GROUPS", keys.lifecycle).catch(() => [])) as unknown[][]
    for (const g of groups) {
      const rec = Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [String(g[2 * i]), g[2 * i + 1]]))
      if (Number(rec["pending"]) !== 0 || (rec["lag"] !== null && Number(rec["lag"]) !== 0)) return false
    }
  }
  return true
}

/** Everything the partitions hold that the input decides. */
const outcome = async (redis: Redis, prefix: string) => {
  const out: Record<string, unknown> = {}
  for (let p = 0; p < COUNT; p++) {
    const keys = partitionKeys(prefix, p, COUNT)
    out[`${p}:snapshots`] = await redis.hgetall(keys.snapshots)
    out[`${p}:lifecycle`] = (await redis.xrange(keys.lifecycle, "-", "+")).map(([, f]) => f)
    out[`${p}:backfill`] = (await redis.xrange(keys.backfill, "-", "+")).map(([, f]) => f)
    out[`${p}:stream-time`] = await redis.get(keys.streamTime)
  }
  return out
}

describe("partition runner", () => {
  const engines: Engine[] = []
  const spaces: TestNamespace[] = []
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop()
    for (const ns of spaces.splice(0)) await ns.cleanup()
  })

  const namespace = async () => {
    const ns = await testNamespace({ partitions: COUNT, backfill: { enabled: false } })
    spaces.push(ns)
    await migrate(ns.sql, ns.schema, COMPANIES_DDL)
    return ns
  }
  const engine = async (ns: TestNamespace, owner: string) => {
    const e = await startRunner(ns, owner)
    engines.push(e)
    return e
  }

  it("two runners and a handoff give what one runner of every partition gives", async () => {
    const input = workloadArray({ events: 6_000, symbols: 120, seed: 20261201, start: Date.UTC(2026, 0, 7, 15), stepMs: 1_000, lateShare: 0.02, badShare: 0.01 })
    const [first, second] = [input.slice(0, 3_000), input.slice(3_000)]

    const one = await namespace()
    const solo = await engine(one, "solo")
    await take(solo, [0, 1, 2, 3, 4, 5, 6, 7])
    expect(solo.runner.held()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    await route(one.redis, one.prefix, input)
    await waitUntil("the single runner applied everything", async () => (await appliedEntries(one.redis, one.prefix)) === input.length, 120_000)
    await waitUntil("the single runner projected everything", () => projectedAll(one.redis, one.prefix), 120_000)

    const two = await namespace()
    const a = await engine(two, "a")
    const b = await engine(two, "b")
    await take(a, [0, 1, 2, 3])
    await take(b, [4, 5, 6, 7])
    // A partition held by one runner is not taken by the other.
    expect(await Effect.runPromise(b.runner.take(2))).toBe(false)
    await route(two.redis, two.prefix, first)
    await waitUntil("the first half applied", async () => (await appliedEntries(two.redis, two.prefix)) === first.length, 120_000)
    // Partition 2 changes hands between the halves; its new owner starts from Redis.
    await Effect.runPromise(a.runner.release(2))
    expect(a.runner.held()).toEqual([0, 1, 3])
    await take(b, [2])
    await route(two.redis, two.prefix, second)
    await waitUntil("the second half applied", async () => (await appliedEntries(two.redis, two.prefix)) === input.length, 120_000)
    await waitUntil("both runners projected everything", () => projectedAll(two.redis, two.prefix), 120_000)

    const expected = await outcome(one.redis, one.prefix)
    expect(Object.values(expected).some((v) => Array.isArray(v) && v.length > 0)).toBe(true)
    expect(await outcome(two.redis, two.prefix)).toEqual(expected)
    const companies = async (ns: TestNamespace) => ns.sql`SELECT symbol, layer FROM companies ORDER BY symbol`
    expect(await companies(two)).toEqual(await companies(one))
  }, 300_000)
})
