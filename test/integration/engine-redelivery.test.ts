/**
 * The engine against entries handed over again after their step was applied: the engine's
 * group is moved back to the start of the stream in the same transaction that adds new
 * entries, so the next read returns every applied entry again together with the new ones.
 * The step skips what its applied-through mark covers, the engine reads its pending entries
 * again and applies the new ones once: every output equals that of a run that read each
 * entry once, and nothing is left pending.
 */
import { afterEach, describe, expect, it } from "vitest"
import type { StreamEntry } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const ENTRIES = workloadArray({ events: 600, symbols: 12, seed: 11, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 20_000 })
const FIRST = ENTRIES.slice(0, 400)
const THEN = ENTRIES.slice(400)

describe("engine with applied entries handed over again", () => {
  const opened: TestNamespace[] = []
  const engines: RunningEngine[] = []
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop()
    for (const ns of opened.splice(0)) await ns.cleanup()
  })

  const start = async () => {
    const ns = await testNamespace(ENGINE_ONLY)
    opened.push(ns)
    engines.push(await runEngine(ns.config))
    return ns
  }
  const scores = (ns: TestNamespace) => ingressKeys(ns.prefix).scores
  /** Every entry delivered to the engine's group and none pending. */
  const drained = async (ns: TestNamespace, last: StreamEntry) => {
    const groups = (await ns.redis.xinfo("GROUPS", scores(ns))) as (string | number)[][]
    const engine = groups.map((g) => Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [g[2 * i], g[2 * i + 1]])))
      .find((g) => g["name"] === GROUPS.engine)
    return engine?.["last-delivered-id"] === last.id && engine["pending"] === 0
  }
  const outputs = async (ns: TestNamespace) => {
    const keys = partitionKeys(ns.prefix, 0)
    return {
      lifecycle: (await ns.redis.xrange(keys.lifecycle, "-", "+")).map(([, f]) => f),
      backfill: (await ns.redis.xrange(keys.backfill, "-", "+")).map(([, f]) => f),
      snapshots: await ns.redis.hgetall(keys.snapshots),
      entries: await ns.redis.hget(keys.stats, "entries"),
      streamTime: await ns.redis.get(keys.streamTime)
    }
  }

  it("applies every entry once when the group hands applied ones over again with new ones", async () => {
    const once = await start()
    await xaddAll(once.redis, scores(once), ENTRIES)
    await waitUntil("the single-read run to drain", () => drained(once, ENTRIES.at(-1) as StreamEntry), 60_000)
    const expected = await outputs(once)
    expect(expected.entries).toBe(String(ENTRIES.length))
    expect(expected.lifecycle.length).toBeGreaterThan(0)

    const again = await start()
    await xaddAll(again.redis, scores(again), FIRST)
    await waitUntil("the first entries to be applied", () => drained(again, FIRST.at(-1) as StreamEntry), 60_000)
    // One transaction: the engine's next read starts at the stream's first entry and finds the new ones too.
    const tx = again.redis.multi().xgroup("SETID", scores(again), GROUPS.engine, "0")
    for (const e of THEN) tx.xadd(scores(again), e.id, ...e.fields)
    await tx.exec()
    await waitUntil("every entry to be applied", () => drained(again, THEN.at(-1) as StreamEntry), 60_000)
    expect(await outputs(again)).toEqual(expected)
  }, 180_000)
})
