/**
 * Stored snapshots across engine versions, through the live engine: an install whose
 * snapshots an older engine wrote (the unversioned JSON) is read and continued by this
 * one exactly as if one engine had run throughout; a stored snapshot that cannot be read
 * dead-letters its symbol's entries with the reason (the snapshot left as it is), the
 * other symbols go on, and once the snapshot is deleted the symbol is applied again.
 */
import { afterEach, describe, expect, it } from "vitest"
import { decodeActor, encodeLegacyActor, type PersistedActor } from "../../machines/snapshot-codec.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { workload } from "../../fixtures/workload.ts"
import { fillStream } from "../../bench/lib/fill.ts"
import { runEngine, streamFields, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const N = 4_000
const HALF = N / 2
// Symbols 0-19 fall quiet halfway: stale_after 30m of plain stream time demotes them in the
// second half, from the staleness index the restarted engine rebuilds from the snapshots.
const entries = [...workload({
  events: N, symbols: 100, seed: 7, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 2_000,
  symbolOf: (i) => (i < HALF ? i % 100 : 20 + (i % 80))
})]
const OVERRIDES = { ...ENGINE_ONLY, lifecycle: { stale_after: "30m", calendar: "none", min_dwell: "2m" } }

const applied = (ns: TestNamespace) => async () => Number(await ns.redis.hget(partitionKeys(ns.prefix, 0).stats, "entries") ?? 0)

const decodedSnapshots = async (ns: TestNamespace): Promise<Record<string, PersistedActor>> => {
  const out: Record<string, PersistedActor> = {}
  for (const [symbol, text] of Object.entries(await ns.redis.hgetall(partitionKeys(ns.prefix, 0).snapshots))) {
    const r = decodeActor(text)
    if (!r.ok) throw new Error(`${symbol}: ${r.reason}`)
    out[symbol] = r.actor
  }
  return out
}

const outcome = async (ns: TestNamespace) => {
  const keys = partitionKeys(ns.prefix, 0)
  const { batches: _batches, ...stats } = await ns.redis.hgetall(keys.stats)
  return {
    snapshots: await decodedSnapshots(ns),
    lifecycle: await streamFields(ns.redis, keys.lifecycle),
    backfill: await streamFields(ns.redis, keys.backfill),
    dead: await ns.redis.xlen(ingressKeys(ns.prefix).scoresDead),
    stats
  }
}

describe("stored snapshot forms", () => {
  const namespaces: TestNamespace[] = []
  let engine: RunningEngine | undefined
  afterEach(async () => {
    await engine?.stop()
    engine = undefined
    for (const ns of namespaces.splice(0)) await ns.cleanup()
  })
  const run = async (ns: TestNamespace, until: number) => {
    engine = await runEngine(ns.config)
    await waitUntil(`${until} entries applied`, async () => (await applied(ns)()) === until, 60_000)
    await engine.stop()
    engine = undefined
  }

  it("continues an install whose snapshots an older engine wrote as an uninterrupted run does", async () => {
    const ref = await testNamespace(OVERRIDES)
    const old = await testNamespace(OVERRIDES)
    namespaces.push(ref, old)
    await fillStream(ref.redis, ingressKeys(ref.prefix).scores, entries)
    await run(ref, N)

    await fillStream(old.redis, ingressKeys(old.prefix).scores, entries.slice(0, HALF))
    await run(old, HALF)
    // What an older engine would have left: the same actors, in the unversioned form.
    const keys = partitionKeys(old.prefix, 0)
    const held = await decodedSnapshots(old)
    const legacy = Object.entries(held).flatMap(([symbol, actor]) => [symbol, encodeLegacyActor(actor)])
    await old.redis.hset(keys.snapshots, ...legacy)
    const before = await old.redis.xlen(keys.lifecycle)
    await fillStream(old.redis, ingressKeys(old.prefix).scores, entries.slice(HALF))
    await run(old, N)

    const expected = await outcome(ref)
    const got = await outcome(old)
    expect(got).toEqual(expected)
    // Not vacuous: actors restored from the older form moved in the second half, quiet ones by stale events.
    expect(await old.redis.xlen(keys.lifecycle)).toBeGreaterThan(before + 10)
    expect(Number(got.stats["stale"])).toBeGreaterThan(0)
    // Rewritten in the current form as they changed; the untouched ones stay as they were.
    const forms = Object.values(await old.redis.hgetall(keys.snapshots)).map((t) => decodeActor(t))
    expect(forms.filter((r) => r.ok && r.format === "v1").length).toBeGreaterThan(50)
  }, 180_000)

  it("dead-letters the entries of a symbol whose stored snapshot is unreadable, applies the others, and takes the symbol up once it is deleted", async () => {
    const ns = await testNamespace(ENGINE_ONLY)
    namespaces.push(ns)
    const keys = partitionKeys(ns.prefix, 0)
    const scores = ingressKeys(ns.prefix).scores
    await ns.redis.hset(keys.snapshots, "AAPL", "{\"layer\":2,\"context\":", "MSFT", "{\"v\":9,\"layer\":1}")
    engine = await runEngine(ns.config)
    await ns.redis.xadd(scores, "*", "symbol", "AAPL", "liquidity", "0.9")
    await ns.redis.xadd(scores, "*", "symbol", "NVDA", "liquidity", "0.9")
    await ns.redis.xadd(scores, "*", "symbol", "MSFT", "liquidity", "0.9")
    await ns.redis.xadd(scores, "*", "symbol", "NVDA", "liquidity", "0.95")
    await waitUntil("4 entries handled", async () => (await applied(ns)()) === 4)
    const dead = (await ns.redis.xrange(ingressKeys(ns.prefix).scoresDead, "-", "+")).map(([, f]) => parseDeadLetter(f))
    expect(dead.map((d) => d?.reason)).toEqual([
      "stored snapshot of AAPL unreadable: not JSON",
      "stored snapshot of MSFT unreadable: snapshot version 9 is not one this engine reads (it reads 1 and unversioned)"
    ])
    // Left as stored, for the operator; the other symbol went on.
    expect(await ns.redis.hget(keys.snapshots, "AAPL")).toBe("{\"layer\":2,\"context\":")
    expect(decodeActor((await ns.redis.hget(keys.snapshots, "NVDA")) ?? "")).toMatchObject({ ok: true, actor: { layer: 1 } })
    expect(((await ns.redis.xpending(scores, GROUPS.engine)) as unknown[])[0]).toBe(0)

    await ns.redis.hdel(keys.snapshots, "AAPL")
    await ns.redis.xadd(scores, "*", "symbol", "AAPL", "liquidity", "0.9")
    await waitUntil("AAPL applied once its snapshot is gone", async () => (await ns.redis.hget(keys.snapshots, "AAPL")) !== null)
    expect(decodeActor((await ns.redis.hget(keys.snapshots, "AAPL")) ?? "")).toMatchObject({ ok: true, format: "v1" })
    expect(await ns.redis.xlen(ingressKeys(ns.prefix).scoresDead)).toBe(2)
  }, 120_000)
})
