/**
 * The atomic step's guard, called directly: a step whose lease owner or epoch is not the
 * lease's is FENCED and one whose step marker is not Redis' is STALE; either way the
 * snapshots, every output stream, the counters, the marker and the pending list are
 * exactly as before. And the lease itself: renewed and released only by its holder, taken
 * with a higher epoch once free. On standalone Redis and on a 3-master Redis Cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { applyBatch, readStepMarker, readStreamTime, stepRefusal, type StepFence } from "../../streams/atomic-step.ts"
import { ensureGroup } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys, partitionScores } from "../../streams/keys.ts"
import { PartitionLease } from "../../streams/lease.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { waitUntil } from "../helpers/engine.ts"
import { SERVERS, useServer } from "../helpers/servers.ts"

describe.each(SERVERS)("atomic step guard on %s Redis", (kind) => {
  const server = useServer(kind)
  // An install of one partition steps on the ingress stream itself, which a Cluster refuses
  // (another slot): there the step reads partition 0's own stream, as in an install of two.
  const count = kind === "cluster" ? 2 : 1
  let ns: TestNamespace
  beforeAll(async () => {
    ns = await testNamespace({ ...ENGINE_ONLY, partitions: count }, server.url())
  })
  afterAll(async () => {
    await ns?.cleanup()
  })

  it("FENCES an old epoch, another owner id with the same epoch, a lapsed lease; refuses a stale marker; writes nothing then", async () => {
    const keys = partitionKeys(ns.prefix, 0, count)
    const ingress = partitionScores(ns.prefix, keys)
    await ensureGroup(ns.redis, ingress.scores, GROUPS.engine)
    for (let i = 1; i <= 3; i++) await ns.redis.xadd(ingress.scores, `${i}-0`, "symbol", "AAA", "ts", String(i))
    await ns.redis.xreadgroup("GROUP", GROUPS.engine, "p0", "COUNT", 10, "STREAMS", ingress.scores, ">")

    const first = new PartitionLease(ns.redis, keys, 60_000, "engine-a")
    const old = await first.acquire()
    expect(old).toMatchObject({ held: true })
    expect(await first.release()).toBe(true)
    const current = new PartitionLease(ns.redis, keys, 60_000, "engine-b")
    const now = await current.acquire()
    if (!old.held || !now.held) throw new Error("lease not taken")
    expect(Number(now.epoch)).toBeGreaterThan(Number(old.epoch))

    const step = (fence: StepFence, id = "1-0") => applyBatch(ns.redis, ingress, keys, GROUPS.engine, {
      ids: [id], snaps: ["AAA", `{"layer":1,"by":"${fence.owner}"}`],
      lifecycle: [["symbol", "AAA", "from", "unqualified", "to", "L1"]], backfill: [["symbol", "AAA"]], dead: [["reason", "x"]],
      stats: ["entries", 1, "batches", 1], streamTime: 1_767_623_400_000, fence
    })
    const state = async () => ({
      snapshots: await ns.redis.hgetall(keys.snapshots),
      lifecycle: await ns.redis.xlen(keys.lifecycle),
      backfill: await ns.redis.xlen(keys.backfill),
      dead: await ns.redis.xlen(ingress.scoresDead),
      stats: await ns.redis.hgetall(keys.stats),
      marker: await readStepMarker(ns.redis, keys),
      streamTime: await readStreamTime(ns.redis, keys),
      // ID, consumer, deliveries (the idle time moves on by itself).
      pending: ((await ns.redis.xpending(ingress.scores, GROUPS.engine, "-", "+", 10)) as unknown[][]).map((e) => [e[0], e[1], e[3]])
    })
    const before = await state()
    expect(before.pending).toHaveLength(3)
    const refusal = (p: Promise<unknown>) => p.then(() => "applied", (e: unknown) => stepRefusal(e) ?? String(e))

    expect(await refusal(step({ owner: "engine-a", epoch: old.epoch, step: "0" }))).toBe("fenced")
    expect(await refusal(step({ owner: "engine-a", epoch: now.epoch, step: "0" }))).toBe("fenced")
    expect(await refusal(step({ owner: "engine-b", epoch: old.epoch, step: "0" }))).toBe("fenced")
    expect(await refusal(step({ owner: "engine-b", epoch: now.epoch, step: "7" }))).toBe("stale")
    expect(await state()).toEqual(before)

    // The holder steps; the marker follows.
    expect(await step({ owner: "engine-b", epoch: now.epoch, step: "0" })).toBe(1)
    expect(await readStepMarker(ns.redis, keys)).toBe("1")
    expect(await readStreamTime(ns.redis, keys)).toBe(1_767_623_400_000)
    expect(await refusal(step({ owner: "engine-b", epoch: now.epoch, step: "0" }, "2-0"))).toBe("stale")

    // A lease that lapsed fences its holder too.
    await ns.redis.pexpire(keys.lease, 1)
    await waitUntil("the lease to expire", async () => (await ns.redis.exists(keys.lease)) === 0)
    const lapsed = await state()
    expect(await refusal(step({ owner: "engine-b", epoch: now.epoch, step: "1" }, "2-0"))).toBe("fenced")
    expect(await state()).toEqual(lapsed)
  })

  it("is renewed and released only by its holder; a free lease is taken with a higher epoch", async () => {
    const keys = partitionKeys(ns.prefix, 1, 2)
    const a = new PartitionLease(ns.redis, keys, 60_000, "a")
    const b = new PartitionLease(ns.redis, keys, 60_000, "b")
    const taken = await a.acquire()
    if (!taken.held) throw new Error("not taken")
    expect(a.held()).toEqual({ owner: "a", epoch: taken.epoch })
    const refused = await b.acquire()
    expect(refused).toMatchObject({ held: false, holder: { owner: "a", epoch: taken.epoch } })
    if (!refused.held) expect(refused.pttlMs).toBeGreaterThan(0)
    expect(await b.renew()).toEqual({ renewed: false, holder: undefined })
    expect(await b.release()).toBe(false)
    expect(await ns.redis.hget(keys.lease, "owner")).toBe("a")

    await ns.redis.pexpire(keys.lease, 1)
    await waitUntil("the lease to expire", async () => (await ns.redis.exists(keys.lease)) === 0)
    const next = await b.acquire()
    if (!next.held) throw new Error("not taken")
    expect(Number(next.epoch)).toBe(Number(taken.epoch) + 1)
    expect(await a.renew()).toEqual({ renewed: false, holder: { owner: "b", epoch: next.epoch } })
    expect(a.held()).toBeUndefined()
    expect(await b.renew()).toEqual({ renewed: true })
    expect(await b.release()).toBe(true)
    expect(await ns.redis.exists(keys.lease)).toBe(0)
  })
})
