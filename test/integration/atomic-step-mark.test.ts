/**
 * The atomic step's applied-through marks, called directly on a real Redis: an entry handed
 * over again after its step was applied (the group moved back, so the same batch is read and
 * sent again; or one entry put back in the pending list with XCLAIM) is acknowledged and
 * skipped, nothing written twice; a batch that mixes applied and new entries applies nothing
 * and leaves only the new ones pending; the router-filled and the direct stream have marks of
 * their own. And the script's ID comparison against an oracle (seeded property test).
 */
import { fc, test } from "@fast-check/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { compareEntryIds } from "../../src/domain/time.ts"
import { applyBatch, readStepMarker, type StepPayload } from "../../streams/atomic-step.ts"
import { ensureGroup } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys, partitionScores, type PartitionKeys } from "../../streams/keys.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const COUNT = 8
const OWNER = "engine-m"
const EPOCH = "1"

describe("atomic step applied-through marks", () => {
  let ns: TestNamespace
  beforeAll(async () => {
    ns = await testNamespace({ ...ENGINE_ONLY, partitions: COUNT })
  })
  afterAll(async () => {
    await ns?.cleanup()
  })

  /** A partition of its own per test, its lease held by OWNER. */
  let next = 1
  const partition = async (): Promise<PartitionKeys> => {
    const keys = partitionKeys(ns.prefix, next++, COUNT)
    await ns.redis.hset(keys.lease, "owner", OWNER, "epoch", EPOCH)
    for (const s of [keys.scores, keys.scoresDirect]) await ensureGroup(ns.redis, s, GROUPS.engine)
    return keys
  }

  /** One step of `ids` (scores stream) and `direct` with the marker Redis holds: one lifecycle event and one snapshot per entry. */
  const step = async (keys: PartitionKeys, ids: readonly string[], direct: readonly string[] = []) => {
    const all = [...ids, ...direct]
    const payload: StepPayload = {
      ids, directIds: direct,
      snaps: all.flatMap((id) => [`S${id}`, `{"v":1,"at":"${id}"}`]),
      lifecycle: all.map((id) => ["symbol", `S${id}`, "from", "0", "to", "1", "cause", id]),
      backfill: [], dead: [], stats: ["entries", all.length, "batches", 1], streamTime: 1_767_623_400_000,
      fence: { owner: OWNER, epoch: EPOCH, step: await readStepMarker(ns.redis, keys) }
    }
    return applyBatch(ns.redis, partitionScores(ns.prefix, keys), keys, GROUPS.engine, payload)
  }
  const outcome = (p: Promise<number>) => p.then((n) => n, (e: unknown) => (e instanceof Error ? e.message.split(" ")[0] : String(e)))

  const add = async (stream: string, ids: readonly string[]) => {
    for (const id of ids) await ns.redis.xadd(stream, id, "symbol", `S${id}`, "ts", "1")
  }
  const readNew = async (stream: string): Promise<string[]> => {
 const reply = (await ns.redis.xreadgroup("GROUP", GROUPS.engine, "p1", "COUNT", 100, "STREAMS", stream, ">")) as [string, [string, string[]][]][] | null
    return (reply?.[0]?.[1] ?? []).map(([id]) => id)
  }
  const pending = async (stream: string): Promise<string[]> =>
    ((await ns.redis.xpending(stream, GROUPS.engine, "-", "+", 100)) as [string][]).map((e) => e[0])
  const written = async (keys: PartitionKeys) => ({
    snapshots: await ns.redis.hgetall(keys.snapshots),
    lifecycle: (await ns.redis.xrange(keys.lifecycle, "-", "+")).map(([, f]) => f),
    stats: await ns.redis.hgetall(keys.stats)
  })

  it("skips a batch read and sent again after it was applied: acknowledged, nothing written twice", async () => {
    const k = await partition()
    await add(k.scores, ["1-0", "2-0", "3-0"])
    const batch = await readNew(k.scores)
    expect(await step(k, batch)).toBe(3)
    expect(await ns.redis.get(k.scoresApplied)).toBe("3-0")
    const after = await written(k)
    expect(after.lifecycle).toHaveLength(3)

    // The group moved back: the same entries are handed over again, pending once more.
    await ns.redis.xgroup("SETID", k.scores, GROUPS.engine, "0")
    expect(await readNew(k.scores)).toEqual(batch)
    expect(await pending(k.scores)).toEqual(batch)
    expect(await step(k, batch)).toBe(0)
    expect(await written(k)).toEqual(after)
    expect(await pending(k.scores)).toEqual([])
  })

  it("skips one applied entry put back in the pending list (XCLAIM), then applies the batch after it", async () => {
    const k = await partition()
    await add(k.scores, ["5-0", "6-0"])
    expect(await step(k, await readNew(k.scores))).toBe(2)
    // XCLAIM takes only what is pending: deliver 6-0 again, then claim it to the consumer.
    await ns.redis.xgroup("SETID", k.scores, GROUPS.engine, "5-0")
    await ns.redis.xreadgroup("GROUP", GROUPS.engine, "other", "COUNT", 1, "STREAMS", k.scores, ">")
    expect(await ns.redis.xclaim(k.scores, GROUPS.engine, "p1", 0, "6-0", "JUSTID")).toEqual(["6-0"])
    const after = await written(k)
    expect(await step(k, ["6-0"])).toBe(0)
    expect(await written(k)).toEqual(after)
    expect(await pending(k.scores)).toEqual([])
    await add(k.scores, ["7-0"])
    expect(await step(k, await readNew(k.scores))).toBe(1)
    expect((await written(k)).lifecycle.map((f) => f[7])).toEqual(["5-0", "6-0", "7-0"])
  })

  it("refuses a batch that mixes applied and new entries: applied ones acknowledged, new ones left pending, nothing written", async () => {
    const k = await partition()
    await add(k.scores, ["1-0", "2-0"])
    expect(await step(k, await readNew(k.scores))).toBe(2)
    await add(k.scores, ["3-0", "4-0"])
    await ns.redis.xgroup("SETID", k.scores, GROUPS.engine, "0")
    const mixed = await readNew(k.scores)
    expect(mixed).toEqual(["1-0", "2-0", "3-0", "4-0"])
    const after = await written(k)
    expect(await outcome(step(k, mixed))).toBe("STRATA_PARTIAL")
    expect(await written(k)).toEqual(after)
    expect(await ns.redis.get(k.scoresApplied)).toBe("2-0")
    expect(await pending(k.scores)).toEqual(["3-0", "4-0"])
    // The caller reads its pending entries again: only the new ones, applied once.
    expect(await step(k, ["3-0", "4-0"])).toBe(2)
    expect((await written(k)).lifecycle.map((f) => f[7])).toEqual(["1-0", "2-0", "3-0", "4-0"])
  })

  it("keeps one mark per input stream: the same ID applies once on each", async () => {
    const k = await partition()
    await add(k.scores, ["9-0"])
    await add(k.scoresDirect, ["3-0", "9-0"])
    expect(await step(k, await readNew(k.scores))).toBe(1)
    expect(await step(k, [], await readNew(k.scoresDirect))).toBe(2)
    expect([await ns.redis.get(k.scoresApplied), await ns.redis.get(k.scoresDirectApplied)]).toEqual(["9-0", "9-0"])
    expect(await step(k, [], ["9-0"])).toBe(0)
    expect(await step(k, ["9-0"], ["3-0"])).toBe(0)
    expect((await written(k)).lifecycle).toHaveLength(3)
  })

  // IDs with millisecond and sequence parts of different lengths, and sequences past 2^53.
  const part = fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
  const idArb = fc.tuple(part, part).map(([ms, seq]) => `${ms}-${seq}`)

  let shared: PartitionKeys | undefined
  test.prop([fc.option(idArb, { nil: undefined }), fc.uniqueArray(idArb, { minLength: 1, maxLength: 6 })], { numRuns: 60, seed: 20261202 })(
    "applies, skips or refuses a batch exactly as the IDs compare with the mark",
    async (mark, unsorted) => {
      const k = shared ??= await partition()
      await ns.redis.del(k.scoresApplied)
      if (mark !== undefined) await ns.redis.set(k.scoresApplied, mark)
      const ids = [...unsorted].sort(compareEntryIds)
      const below = mark === undefined ? 0 : ids.filter((id) => compareEntryIds(id, mark) <= 0).length
      const expected = below === 0 ? ids.length : below === ids.length ? 0 : "STRATA_PARTIAL"
      expect(await outcome(step(k, ids))).toBe(expected)
      expect(await ns.redis.get(k.scoresApplied)).toBe(below === 0 ? ids.at(-1) : (mark ?? null))
    }
  )
})
