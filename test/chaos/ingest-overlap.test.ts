/**
 * The ingest loop with `ingest.overlap`: while the atomic step of one batch is in flight,
 * the next batch is already read and computed from the state that step commits. When that
 * step is refused — FENCED (the lease taken away between batches), STALE (the step marker
 * moved behind the engine's back) or failed (the guard's own read errs, nothing written) —
 * the batch read ahead must be discarded and the actors and clock read back from Redis.
 * Each run is compared with an uninterrupted run without overlap on the same input:
 * every output stream, the snapshots, the counters and the stream time are the same, and
 * nothing stays pending: nothing applied twice, nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Ingest } from "../../src/engine/ingest.ts"
import { createLogger } from "../../src/services/logger.ts"
import { openRedis } from "../../src/services/redis.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { PartitionLease } from "../../streams/lease.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { streamFields } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const EVENTS = 3_000
// Symbol s < 50 falls quiet after event 300 + 50 s, so stale demotions (2 h = 720 events
// later) come all through the run and depend on the clock the batch starts from.
const ENTRIES = workloadArray({
  events: EVENTS, symbols: 100, seed: 11, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 10_000, lateShare: 0.01, badShare: 0.01,
  symbolOf: (i) => (i % 100 < 50 && i > 300 + 50 * (i % 100) ? 50 + (i % 50) : i % 100)
})
const overrides = (overlap: boolean) => ({
  ...ENGINE_ONLY,
  lifecycle: { stale_after: "2h", calendar: "none" },
  ingest: { batch_size: 50, block_ms: 50, overlap }
})

/** What a run leaves in Redis, IDs of generated entries aside. */
const outcome = async (ns: TestNamespace) => {
  const keys = partitionKeys(ns.prefix, 0)
  const ingress = ingressKeys(ns.prefix)
  const { batches: _batches, ...stats } = await ns.redis.hgetall(keys.stats)
  return {
    lifecycle: await streamFields(ns.redis, keys.lifecycle),
    backfill: await streamFields(ns.redis, keys.backfill),
    dead: await streamFields(ns.redis, ingress.scoresDead),
    snapshots: await ns.redis.hgetall(keys.snapshots),
    stats,
    streamTime: await ns.redis.get(keys.streamTime),
    pending: ((await ns.redis.xpending(ingress.scores, GROUPS.engine)) as unknown[])[0]
  }
}

type Fault = (ctx: { readonly call: number; readonly lease: PartitionLease }) => Promise<void>

/**
 * Drive one Ingest by hand until every entry is applied, calling `fault` before each call of
 * `runOnce`; a failed call is retried as the engine's loop does.
 */
const drain = async (ns: TestNamespace, fault?: Fault): Promise<Ingest> => {
  const keys = partitionKeys(ns.prefix, 0)
  const reads = openRedis(ns.redisUrl, "test-overlap-reads")
  try {
    const lease = new PartitionLease(ns.redis, keys, 600_000, "engine")
    expect(await lease.acquire()).toMatchObject({ held: true })
    const ingest = new Ingest(reads, ns.redis, ns.config, createLogger("test", "silent"), lease)
    await ingest.init()
    await xaddAll(ns.redis, ingest.ingress.scores, ENTRIES)
    for (let call = 0; Number(await ns.redis.hget(keys.stats, "entries") ?? 0) < EVENTS; call++) {
      if (call > 2_000) throw new Error(`not drained after ${call} calls: ${JSON.stringify(ingest.stats)}`)
      await fault?.({ call, lease })
      await ingest.runOnce().catch(() => 0)
    }
    return ingest
  } finally {
    reads.disconnect()
  }
}

/** Between batches, every third call from the fourth on, for as long as the run lasts. */
const faultDue = (call: number): boolean => call >= 4 && call % 3 === 1

describe("ingest overlap: a refused step discards the batch read ahead", () => {
  const namespaces: TestNamespace[] = []
  const namespace = async (overlap: boolean) => {
    const ns = await testNamespace(overrides(overlap))
    namespaces.push(ns)
    return ns
  }
  let reference: Awaited<ReturnType<typeof outcome>>
  beforeAll(async () => {
    const ns = await namespace(false)
    await drain(ns)
    reference = await outcome(ns)
    expect(reference.lifecycle.length).toBeGreaterThan(20)
    expect(Number(reference.stats["stale"])).toBeGreaterThan(0)
    expect(reference.pending).toBe(0)
  })
  afterAll(async () => {
    for (const ns of namespaces.splice(0)) await ns.cleanup()
  })

  it("FENCED (the lease taken away between batches): the next batch, computed meanwhile, is applied once, from Redis' state", async () => {
    const ns = await namespace(true)
    const keys = partitionKeys(ns.prefix, 0)
    const thief = new PartitionLease(ns.redis, keys, 600_000, "thief")
    let stolen = false
    let faults = 0
    const ingest = await drain(ns, async ({ call, lease }) => {
      if (stolen) {
        // Give it back: the engine takes it with a new epoch and starts again from Redis.
        await thief.release()
        await lease.acquire()
        stolen = false
      } else if (faultDue(call)) {
        await ns.redis.del(keys.lease)
        await thief.acquire()
        stolen = true
        faults++
      }
    })
    expect(faults).toBeGreaterThan(10)
    expect(ingest.stats.fenced).toBe(faults)
    expect(ingest.stats.discarded).toBe(faults)
    expect(await outcome(ns)).toEqual(reference)
  })

  it("STALE (the step marker moved behind the engine): the batch read ahead is discarded and everything is read back", async () => {
    const ns = await namespace(true)
    const keys = partitionKeys(ns.prefix, 0)
    let faults = 0
    const ingest = await drain(ns, async ({ call }) => {
      if (!faultDue(call)) return
      await ns.redis.incr(keys.step)
      faults++
    })
    expect(faults).toBeGreaterThan(10)
    expect(ingest.stats.reloads).toBe(faults)
    expect(ingest.stats.discarded).toBe(faults)
    expect(await outcome(ns)).toEqual(reference)
  })

  it("a failed step (its guard errs before writing anything): same lease, the cache and clock come back from Redis", async () => {
    const ns = await namespace(true)
    const keys = partitionKeys(ns.prefix, 0)
    let broken: string[] | undefined
    let faults = 0
    const ingest = await drain(ns, async ({ call }) => {
      if (broken !== undefined) {
        // The same owner and epoch as before: no new epoch hides what the failure left.
        await ns.redis.del(keys.lease)
        await ns.redis.hset(keys.lease, "owner", broken[0] as string, "epoch", broken[1] as string)
        broken = undefined
      } else if (faultDue(call)) {
        faults++
        // A lease key of the wrong type: the guard's HMGET fails, the script writes nothing.
        broken = (await ns.redis.hmget(keys.lease, "owner", "epoch")) as string[]
        await ns.redis.del(keys.lease)
        await ns.redis.set(keys.lease, "not a hash")
      }
    })
    expect(faults).toBeGreaterThan(10)
    expect(ingest.stats.fenced + ingest.stats.reloads).toBe(0)
    expect(ingest.stats.discarded).toBe(faults)
    expect(await outcome(ns)).toEqual(reference)
  })
})
