/**
 * Partitioned engines end to end, scores written to the ingress stream as producers write
 * them: two engines of an install of 8 partitions settle on a disjoint cover of them, one
 * routes; when one stops, the other takes every partition (the router's lease too, when
 * the stopped one held it); the snapshots, lifecycle and backfill streams and companies
 * rows equal those of one engine alone over the same input. Partitions are trimmed. And, on
 * standalone Redis and on a 3-master Redis Cluster, a fourth engine that joins three takes
 * only its rendezvous share, each partition straight from its one holder, and one that
 * leaves (a graceful stop, as on SIGTERM) has given up its partitions and its membership
 * by the time it has stopped, and only its share moves back.
 */
import { afterEach, describe, expect, it } from "vitest"
import { workloadArray } from "../../fixtures/workload.ts"
import { assignPartitions, partitionsOf } from "../../src/engine/rendezvous.ts"
import { createLogger } from "../../src/services/logger.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { ingressKeys, membershipKeys, partitionKeys } from "../../streams/keys.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { installSettled, startPartitioned, type RunningPartitioned } from "../helpers/partitioned.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import { SERVERS, useServer } from "../helpers/servers.ts"

const COUNT = 8
const log = createLogger("test-partitioned", process.env["LOG_LEVEL"] ?? "silent")

type Running = RunningPartitioned
const start = (ns: TestNamespace): Promise<Running> => startPartitioned(ns, log)

/** Routed, applied and projected everywhere. */
const settled = (ns: TestNamespace) => installSettled(ns, COUNT)

const outcome = async (ns: TestNamespace) => {
  const out: Record<string, unknown> = {}
  for (let p = 0; p < COUNT; p++) {
    const keys = partitionKeys(ns.prefix, p, COUNT)
    out[`${p}:snapshots`] = await ns.redis.hgetall(keys.snapshots)
    out[`${p}:scores`] = await ns.redis.xrange(keys.scores, "-", "+")
    out[`${p}:lifecycle`] = (await ns.redis.xrange(keys.lifecycle, "-", "+")).map(([, f]) => f)
    out[`${p}:backfill`] = (await ns.redis.xrange(keys.backfill, "-", "+")).map(([, f]) => f)
  }
  out["ingress:dead"] = (await ns.redis.xrange(ingressKeys(ns.prefix).scoresDead, "-", "+")).map(([, f]) => f)
  out["companies"] = await ns.sql`SELECT symbol, layer FROM companies ORDER BY symbol`
  return out
}

const heldBy = (engines: readonly Running[]) => engines.flatMap((e) => e.handles.runner.held())

describe("partitioned engines", () => {
  const running: Running[] = []
  const spaces: TestNamespace[] = []
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop()
    for (const ns of spaces.splice(0)) await ns.cleanup()
  })
  const namespace = async () => {
    const ns = await testNamespace({
      partitions: COUNT, backfill: { enabled: false }, archive: { enabled: false },
      ingest: { block_ms: 100 }, lease: { ttl_ms: 1_500, join_debounce_ms: 300 }
    })
    spaces.push(ns)
    return ns
  }
  const engine = async (ns: TestNamespace) => {
    const e = await start(ns)
    running.push(e)
    return e
  }
  const feed = (ns: TestNamespace, entries: readonly StreamEntry[]) => xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries)

  it("share the partitions, hand them on when one stops, and end where one engine alone ends", async () => {
    const input = workloadArray({ events: 6_000, symbols: 150, seed: 20261202, start: Date.UTC(2026, 0, 7, 15), stepMs: 1_000, lateShare: 0.02, badShare: 0.01 })
    const [first, second] = [input.slice(0, 3_000), input.slice(3_000)]
    const all = Array.from({ length: COUNT }, (_, p) => p)

    const one = await namespace()
    const solo = await engine(one)
    await waitUntil("the lone engine holds every partition", () => solo.handles.runner.held().length === COUNT, 60_000)
    await feed(one, input)
    await waitUntil("the lone engine settled", () => settled(one), 120_000)
    const expected = await outcome(one)
    expect((expected["0:snapshots"] as object) !== undefined).toBe(true)

    const two = await namespace()
    const a = await engine(two)
    const b = await engine(two)
    await waitUntil("the two engines cover every partition between them", () => {
      const held = heldBy([a, b])
      return held.length === COUNT && new Set(held).size === COUNT && a.handles.runner.held().length > 0 && b.handles.runner.held().length > 0
    }, 60_000)
    await feed(two, first)
    await waitUntil("the first half settled", () => settled(two), 120_000)
    // The engine holding the router's lease stops: the other takes it and every partition.
    const [leaving, staying] = b.handles.router.lease.held() !== undefined ? [b, a] : [a, b]
    await leaving.stop()
    running.splice(running.indexOf(leaving), 1)
    await waitUntil("the remaining engine holds every partition", () =>
      staying.handles.runner.held().join() === all.join() && staying.handles.router.lease.held() !== undefined, 60_000)
    await feed(two, second)
    await waitUntil("the second half settled", () => settled(two), 120_000)

    expect(await outcome(two)).toEqual(expected)
  }, 400_000)

  it("trim every partition's streams and the ingress streams, never past what a group still needs", async () => {
    // The input's entry IDs are a millisecond apart: an age of 1 ms keeps almost nothing, the count keeps 20.
    const keep = { age: "1ms", count: 20 }
    const ns = await testNamespace({
      partitions: COUNT, backfill: { enabled: false }, archive: { enabled: false },
      ingest: { block_ms: 100 }, lease: { ttl_ms: 1_500, join_debounce_ms: 300 },
      streams: { trim: { enabled: true, every: "200ms" }, scores: { keep }, lifecycle: { keep }, backfill: { keep } }
    })
    spaces.push(ns)
    const e = await engine(ns)
    await waitUntil("the engine holds every partition", () => e.handles.runner.held().length === COUNT, 60_000)
    const input = workloadArray({ events: 4_000, symbols: 80, seed: 20261203, start: Date.UTC(2026, 0, 7, 15), stepMs: 1_000 })
    await feed(ns, input)
    await waitUntil("everything settled", () => settled(ns), 120_000)
    const applied = async () => {
      let n = 0
      for (let p = 0; p < COUNT; p++) n += Number((await ns.redis.hget(partitionKeys(ns.prefix, p, COUNT).stats, "entries")) ?? 0)
      return n
    }
    expect(await applied()).toBe(input.length)
    // Every stream comes down to its retention's count once its groups have read everything.
    const lengths = async () => {
      const keys = [ingressKeys(ns.prefix).scores]
      for (let p = 0; p < COUNT; p++) {
        const k = partitionKeys(ns.prefix, p, COUNT)
        keys.push(k.scores, k.lifecycle)
      }
      return Promise.all(keys.map((k) => ns.redis.xlen(k)))
    }
    await waitUntil("every stream trimmed to its retention", async () => (await lengths()).every((n) => n <= keep.count), 60_000)
    expect((await lengths())[0]).toBe(keep.count)
  }, 300_000)
})

describe.each(SERVERS)("partitioned engines joining and leaving on %s Redis", (kind) => {
  const server = useServer(kind)
  const running: Running[] = []
  const spaces: TestNamespace[] = []
  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop()
    for (const ns of spaces.splice(0)) await ns.cleanup()
  })
  const engine = async (ns: TestNamespace) => {
    const e = await start(ns)
    running.push(e)
    return e
  }

  it("a fourth engine that joins takes only its rendezvous share, each partition from its one holder; one that leaves gives it back at once", async () => {
    const count = 24
    const ttlMs = 1_500
    const ns = await testNamespace({
      partitions: count, backfill: { enabled: false }, archive: { enabled: false },
      ingest: { block_ms: 100 }, lease: { ttl_ms: ttlMs, join_debounce_ms: 300 }
    }, server.url())
    spaces.push(ns)
    const owners = async () => Promise.all(Array.from({ length: count }, (_, p) => ns.redis.hget(partitionKeys(ns.prefix, p, count).lease, "owner")))
    /** Every partition held, each by the engine rendezvous names among `engines`. */
    const settledOn = (engines: readonly Running[]) => async () => {
      const want = assignPartitions(engines.map((e) => e.handles.owner), count)
      return (await owners()).every((o, p) => o === want[p]) &&
        engines.every((e) => e.handles.runner.held().join() === partitionsOf(e.handles.owner, engines.map((x) => x.handles.owner), count).join())
    }
    /**
     * Polls the leases until `done` says so; returns the longest a partition was seen
     * without an owner (ms, reported: the machine is shared) and every owner each had.
     */
    const watch = async (what: string, done: () => Promise<boolean>) => {
      const since = new Map<number, number>()
      const seen = Array.from({ length: count }, () => new Set<string>())
      let longest = 0
      await waitUntil(what, async () => {
        const now = performance.now()
        for (const [p, o] of (await owners()).entries()) {
          if (o !== null) {
            seen[p]?.add(o)
            since.delete(p)
          } else {
            const from = since.get(p) ?? now
            since.set(p, from)
            longest = Math.max(longest, now - from)
          }
        }
        return done()
      }, 120_000)
      return { longest: Math.round(longest), seen }
    }
    const three = [await engine(ns), await engine(ns), await engine(ns)]
    await waitUntil("three engines settled on their shares", settledOn(three), 120_000)
    const before = await owners()
    const fourth = await engine(ns)
    const four = [...three, fourth]
    const joined = await watch("four engines settled on their shares", settledOn(four))
    const after = await owners()
    const moved = after.flatMap((o, p) => (o !== before[p] ? [p] : []))
    // Only the newcomer's share moved, and each moved partition went to it.
    expect(moved).toEqual(partitionsOf(fourth.handles.owner, four.map((e) => e.handles.owner), count))
    expect(moved.every((p) => after[p] === fourth.handles.owner)).toBe(true)
    expect(moved.length).toBeGreaterThan(0)
    expect(moved.length).toBeLessThan(count / 2)
    // No partition passed through a third owner on its way.
    for (const [p, owned] of joined.seen.entries()) expect([...owned].sort(), `partition ${p}`).toEqual([...new Set([before[p], after[p]])].sort())

    // Leaving: by the time its shutdown is done it holds no lease and is no member.
    await fourth.stop()
    running.splice(running.indexOf(fourth), 1)
    expect((await owners()).filter((o) => o === fourth.handles.owner)).toEqual([])
    expect(await ns.redis.zscore(membershipKeys(ns.prefix).members, fourth.handles.owner)).toBeNull()
    const left = await watch("three engines settled on their shares again", settledOn(three))
    expect(await owners()).toEqual(before)
    console.info(`partitioned join/leave on ${kind} Redis: ${moved.length} of ${count} partitions moved; longest seen ownerless: join ${joined.longest} ms, leave ${left.longest} ms (lease TTL ${ttlMs} ms)`)
  }, 300_000)
})
