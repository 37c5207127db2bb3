/**
 * Producers writing a partition's direct stream, bypassing the ingress router: an install
 * fed half through ingress and half (other symbols) straight into each symbol's direct
 * stream ends, symbol by symbol, where one engine fed everything through ingress ends; a
 * hostile direct entry is dead-lettered with the decoder's reason and the loop goes on,
 * and an ID present in both of a partition's input streams is applied from each.
 * Trimming keeps every direct entry the engine's group has not read or still holds, and,
 * while the archive is enabled, every direct entry above the stream's archive mark; the
 * partition's lag, stream figures and /metrics count the direct stream.
 */
import { afterEach, describe, expect, it } from "vitest"
import { workloadArray } from "../../fixtures/workload.ts"
import { partitionView } from "../../src/engine/install-view.ts"
import { createLogger } from "../../src/services/logger.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { ensureGroup } from "../../streams/consumer.ts"
import { directArchiveKeys, GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { Lease } from "../../streams/lease.ts"
import { archiveHolder, archivePass, directArchiverDepsWith } from "../../src/engine/archiver.ts"
import { localObjectStore } from "../../src/storage/object-store.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { scoresFields, scoresSymbol } from "../../streams/scores-wire.ts"
import { redisTimeMs, trimPass } from "../../streams/trim.ts"
import { trimPlan } from "../../streams/trim-plan.ts"
import { runStrata } from "../helpers/cli.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { installSettled, splitByPath, startPartitioned, type RunningPartitioned } from "../helpers/partitioned.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const COUNT = 4
const log = createLogger("test-direct", process.env["LOG_LEVEL"] ?? "silent")

/** Symbols to pick from by partition: AA, AB, … ZZ. */
const CANDIDATES = Array.from({ length: 26 * 26 }, (_, i) => String.fromCharCode(65 + Math.floor(i / 26), 65 + (i % 26)))
const fieldsOf = async (ns: TestNamespace, key: string) => (await ns.redis.xrange(key, "-", "+")).map(([, f]) => f)
const symbolOf = (fields: readonly string[]) => fields[fields.indexOf("symbol") + 1] ?? ""

/** Per symbol: its snapshot, its lifecycle and backfill entries in order; the dead letters' sources; the companies rows. */
const bySymbol = async (ns: TestNamespace) => {
  const snapshots: Record<string, string> = {}
  const lifecycle: Record<string, string[][]> = {}
  const backfill: Record<string, string[][]> = {}
  const dead: string[] = (await fieldsOf(ns, ingressKeys(ns.prefix).scoresDead)).map((f) => parseDeadLetter(f)?.sourceId ?? "?")
  const push = (to: Record<string, string[][]>, f: string[]) => (to[symbolOf(f)] ??= []).push(f)
  for (let p = 0; p < COUNT; p++) {
    const keys = partitionKeys(ns.prefix, p, COUNT)
    Object.assign(snapshots, await ns.redis.hgetall(keys.snapshots))
    for (const f of await fieldsOf(ns, keys.lifecycle)) push(lifecycle, f)
    for (const f of await fieldsOf(ns, keys.backfill)) push(backfill, f)
    dead.push(...(await fieldsOf(ns, keys.scoresDead)).map((f) => parseDeadLetter(f)?.sourceId ?? "?"))
  }
  const companies = await ns.sql`SELECT symbol, layer FROM companies ORDER BY symbol`
  return { snapshots, lifecycle, backfill, dead: dead.sort(), companies }
}

describe("writing a partition's direct stream", () => {
  const running: RunningPartitioned[] = []
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
    const e = await startPartitioned(ns, log)
    running.push(e)
    await waitUntil("the engine holds every partition", () => e.handles.runner.held().length === COUNT, 60_000)
    return e
  }

  it("half through ingress, half direct, ends symbol by symbol where all through ingress ends", async () => {
    const input = workloadArray({ events: 4_000, symbols: 120, seed: 20261210, start: Date.UTC(2026, 0, 7, 15), stepMs: 1_000, lateShare: 0.02, badShare: 0.01 })

    const one = await namespace()
    await engine(one)
    await xaddAll(one.redis, ingressKeys(one.prefix).scores, input)
    await waitUntil("the all-ingress install settled", () => installSettled(one, COUNT), 120_000)
    const expected = await bySymbol(one)

    // Every other symbol (in order of first appearance) goes direct; entries without a symbol go to ingress.
    const symbols = [...new Set(input.map((e) => scoresSymbol(e.fields)).filter((s): s is string => s !== undefined))]
    const direct = new Set(symbols.filter((_, i) => i % 2 === 1))
    const two = await namespace()
    await engine(two)
    const { viaIngress, viaDirect } = splitByPath(two.prefix, COUNT, input, (s) => direct.has(s))
    expect(viaDirect.size).toBe(COUNT)
    // Under their own IDs, so that the event IDs the actors record are the reference's.
    await Promise.all([xaddAll(two.redis, ingressKeys(two.prefix).scores, viaIngress),
      ...[...viaDirect].map(([key, entries]) => xaddAll(two.redis, key, entries))])
    await waitUntil("the half-direct install settled", () => installSettled(two, COUNT), 120_000)
    const got = await bySymbol(two)

    expect(Object.keys(expected.snapshots).length).toBeGreaterThan(100)
    expect(expected.dead.length).toBeGreaterThan(10)
    expect(got).toEqual(expected)
    // The router copied none of the direct entries.
    let routed = 0
    for (let p = 0; p < COUNT; p++) routed += await two.redis.xlen(partitionKeys(two.prefix, p, COUNT).scores)
    expect(routed).toBe(viaIngress.length - (await two.redis.xlen(ingressKeys(two.prefix).scoresDead)))
  }, 300_000)

  it("dead-letters a hostile direct entry and goes on; an ID in both input streams is applied from each", async () => {
    const ns = await namespace()
    const e = await engine(ns)
    // The direct stream as `strata partition` names it.
    const where = JSON.parse((await runStrata(ns.env, ["partition", "msft", "--json"])).out) as { partition: number; scores: string; direct: string }
    const keys = partitionKeys(ns.prefix, symbolPartition("MSFT", COUNT), COUNT)
    expect(where).toMatchObject({ partition: keys.partition, scores: keys.scores, direct: keys.scoresDirect })

    const t = Date.UTC(2026, 0, 7, 15)
    const hostile = await ns.redis.xadd(where.direct, "*", "symbol", "MSFT", "liquidity_score", "not a number", "ts", String(t))
    const wrong = CANDIDATES.find((s) => symbolPartition(s, COUNT) !== keys.partition) as string
    const misplaced = await ns.redis.xadd(where.direct, "*", ...scoresFields(wrong, { liquidity_score: 1 }, t))
    const good = await ns.redis.xadd(where.direct, "*", ...scoresFields("MSFT", { liquidity_score: 0.9, catalyst_score: 0.9, activity_score: 0.9 }, t + 1_000))
    // The same ID through ingress, for a symbol of the same partition: the two streams' IDs are independent.
    const twin = CANDIDATES.find((s) => symbolPartition(s, COUNT) === keys.partition && s !== "MSFT") as string
    await ns.redis.xadd(ingressKeys(ns.prefix).scores, good as string, ...scoresFields(twin, { liquidity_score: 0.5 }, t + 1_000))
    await waitUntil("settled", () => installSettled(ns, COUNT), 60_000)

    const dead = (await fieldsOf(ns, keys.scoresDead)).map((f) => parseDeadLetter(f))
    expect(dead.map((d) => d?.sourceId)).toEqual([hostile, misplaced])
    expect(dead[0]?.reason).toMatch(/liquidity_score/)
    expect(dead[1]?.reason).toContain(`wrong partition: ${wrong} belongs to partition`)
    const stats = await ns.redis.hgetall(keys.stats)
    expect({ entries: stats["entries"], dead: stats["dead"], applied: stats["applied"] }).toEqual({ entries: "4", dead: "2", applied: "2" })
    expect(Object.keys(await ns.redis.hgetall(keys.snapshots)).sort()).toEqual([twin, "MSFT"].sort())
    // Nothing of the direct stream was routed, and nothing stays pending on either input.
    expect((await ns.redis.xrange(keys.scores, "-", "+")).map(([id]) => id)).toEqual([good])
    expect(await ns.redis.xpending(keys.scoresDirect, "strata-engine")).toEqual([0, null, null, null])
    // /metrics shows the direct stream beside the router-filled one, for its partition.
    const metrics = (await (await fetch(`http://127.0.0.1:${e.handles.httpPort}/metrics`)).text()).split("\n")
    const line = (name: string) => metrics.find((l) => l.startsWith(`${name}{`) && l.includes(`stream="${keys.scoresDirect}"`) && l.includes(`partition="${keys.partition}"`))
    expect(line("strata_stream_length")).toMatch(/ 3$/)
    expect(line("strata_group_backlog")).toMatch(/group="strata-engine".* 0$/)
  }, 120_000)
})

describe("trimming a partition's direct stream", () => {
  const spaces: TestNamespace[] = []
  afterEach(async () => {
    for (const ns of spaces.splice(0)) await ns.cleanup()
  })
  /** Ten direct entries of partition 1; the engine's group was given the first five and acknowledged two. */
  const setUp = async (archive: boolean) => {
    const ns = await testNamespace({ partitions: COUNT, archive: { enabled: archive }, streams: { scores: { keep: { age: "1ms", count: 0 } } } })
    spaces.push(ns)
    const keys = partitionKeys(ns.prefix, 1, COUNT)
    await ensureGroup(ns.redis, keys.scoresDirect, GROUPS.engine)
    // IDs 10 ms apart: `keep.age` counts from the newest entry's ID, and `*` IDs written
    // within one millisecond would all be kept by it, whatever the groups allow.
    const base = (await redisTimeMs(ns.redis)) - 10_000
    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push((await ns.redis.xadd(keys.scoresDirect, `${base + i * 10}-0`, ...scoresFields("AA", { liquidity_score: i }))) as string)
    await ns.redis.xreadgroup("GROUP", GROUPS.engine, "p1", "COUNT", 5, "STREAMS", keys.scoresDirect, ">")
    await ns.redis.xack(keys.scoresDirect, GROUPS.engine, ids[0] as string, ids[1] as string)
    const plan = trimPlan(ns.config, 1)
    const direct = plan.targets.find((t) => t.key === keys.scoresDirect)
    expect(direct?.name).toBe("scores_direct")
    return { ns, keys, ids, plan }
  }
  const left = async (ns: TestNamespace, key: string) => (await ns.redis.xrange(key, "-", "+")).map(([id]) => id)

  it("keeps every entry the engine's group has not read or still has pending", async () => {
    const { ns, keys, ids, plan } = await setUp(false)
    await trimPass(ns.redis, plan)
    expect(await left(ns, keys.scoresDirect)).toEqual(ids.slice(2))
    // Read and acknowledged in full: the retention alone bounds it.
    await ns.redis.xreadgroup("GROUP", GROUPS.engine, "p1", "COUNT", 10, "STREAMS", keys.scoresDirect, ">")
    await ns.redis.xack(keys.scoresDirect, GROUPS.engine, ...ids)
    await trimPass(ns.redis, plan)
    expect((await left(ns, keys.scoresDirect)).length).toBeLessThan(ids.length - 2)
  }, 60_000)

  it("counts its entries in the partition's lag and stream figures", async () => {
    const { ns, keys } = await setUp(false)
    const view = await partitionView(ns.redis, ns.config, 1, await redisTimeMs(ns.redis))
    // Three pending and five unread on the direct stream; the router-filled one has no group yet.
    expect(view.lag).toBe(8)
    expect(view.streams.find((f) => f.key === keys.scoresDirect)).toMatchObject({ name: "scores_direct", length: 10, archiveLag: null })
  }, 60_000)

  it("while the archive is enabled, trims it no further than its archive mark", async () => {
    const { ns, keys, ids, plan } = await setUp(true)
    await ns.redis.xreadgroup("GROUP", GROUPS.engine, "p1", "COUNT", 10, "STREAMS", keys.scoresDirect, ">")
    await ns.redis.xack(keys.scoresDirect, GROUPS.engine, ...ids.slice(0, 6))
    const out = await trimPass(ns.redis, plan)
    expect(out.find((r) => r.key === keys.scoresDirect)).toMatchObject({ removed: 0, bound: { trim: false, reason: "nothing archived yet" } })
    expect(await left(ns, keys.scoresDirect)).toEqual(ids)
    // The partition's holder archives what its group acknowledged; the trim follows the mark.
    const lease = new Lease(ns.redis, directArchiveKeys(ns.prefix, 1, COUNT), 60_000)
    expect((await lease.acquire()).held).toBe(true)
    const store = localObjectStore(ns.config.storage.lake)
    try {
      const report = await archivePass(directArchiverDepsWith(ns.config, 1, { redis: ns.redis, store, holder: () => archiveHolder(lease) }))
      expect([report.rows, report.mark]).toEqual([6, ids[5]])
    } finally {
      await store.close()
      await lease.release()
    }
    await ns.redis.xack(keys.scoresDirect, GROUPS.engine, ...ids.slice(6))
    // An entry a minute later: the retention's age then keeps nothing of the ten.
    const later = `${Number((ids[9] as string).split("-")[0]) + 60_000}-0`
    await ns.redis.xadd(keys.scoresDirect, later, ...scoresFields("AA", { liquidity_score: 1 }))
    const after = await trimPass(ns.redis, plan)
    expect(after.find((r) => r.key === keys.scoresDirect)).toMatchObject({ removed: 6, bound: { trim: true, by: "archive" } })
    expect(await left(ns, keys.scoresDirect)).toEqual([...ids.slice(6), later])
  }, 60_000)
})
