/**
 * Entries as large as Redis accepts through the live engine: a 10k-field entry, a 1 MB
 * value and an entry whose own fields are named like the dead-letter header end
 * dead-lettered with a bounded copy and the engine's own reason and source_id; the good
 * entries after them are applied and nothing stays pending.
 */
import { afterEach, describe, expect, it } from "vitest"
import { DEAD_LETTER_CAPS, parseDeadLetter } from "../../streams/dead-letter.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2026, 0, 5, 14, 30)

describe("engine with oversized entries", () => {
  let ns: TestNamespace
  let engine: RunningEngine | undefined
  afterEach(async () => {
    await engine?.stop()
    await ns.cleanup()
  })

  it("dead-letters a 10k-field entry and a 1 MB value with a bounded copy, then applies the good entries", async () => {
    ns = await testNamespace(ENGINE_ONLY)
    const stream = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    const wide = ["symbol", "WIDE", ...Array.from({ length: 10_000 }, (_, i) => [`s${i}`, "0.5"]).flat()]
    const huge = ["symbol", "HUGE", "liquidity", "9".repeat(1 << 20)]
    const forged = ["symbol", "../x", "reason", "forged", "source_id", "0-1", "liquidity", "0.9"]
    const bad = [wide, huge, forged]
    const badIds = [] as string[]
    for (const fields of bad) badIds.push((await ns.redis.xadd(stream, "*", ...fields)) as string)
    engine = await runEngine(ns.config)
    await ns.redis.xadd(stream, "*", "symbol", "AAPL", "liquidity", "0.91", "ts", String(T0))
    await ns.redis.xadd(stream, "*", "symbol", "AAPL", "liquidity", "0.92", "ts", String(T0 + 60_000))

    await waitUntil("every entry handled", async () => Number(await ns.redis.hget(keys.stats, "entries")) === 5, 60_000)
    const stats = await ns.redis.hgetall(keys.stats)
    expect({ applied: stats["applied"], dead: stats["dead"] }).toEqual({ applied: "2", dead: "3" })
    expect(((await ns.redis.xpending(stream, GROUPS.engine)) as unknown[])[0]).toBe(0)
    // The good entries qualified AAPL.
    const lifecycle = await ns.redis.xrange(keys.lifecycle, "-", "+")
    expect(lifecycle.map(([, f]) => f.slice(0, 4))).toEqual([["type", "SymbolQualified", "symbol", "AAPL"]])

    const dead = (await ns.redis.xrange(ingressKeys(ns.prefix).scoresDead, "-", "+")).map(([, f]) => ({ f, letter: parseDeadLetter(f) }))
    expect(dead.map((d) => d.letter?.sourceId)).toEqual(badIds)
    expect(dead.map((d) => d.letter?.reason.split(" ").slice(0, 2).join(" "))).toEqual(["too many", "value of", "invalid symbol"])
    expect(dead.map((d) => d.letter?.truncated)).toEqual([true, true, false])
    for (const { f } of dead) {
      expect(f.length).toBeLessThanOrEqual(6 + 2 * DEAD_LETTER_CAPS.maxPairs)
      expect(f.reduce((n, v) => n + v.length, 0)).toBeLessThan(DEAD_LETTER_CAPS.maxCopyLength + 4 * DEAD_LETTER_CAPS.maxValueLength)
    }
    expect(dead[1]?.letter?.original).toEqual(["symbol", "HUGE", "liquidity", "9".repeat(DEAD_LETTER_CAPS.maxValueLength)])
    // The forged header fields stay in the copy; the engine's are the ones in front.
    expect(dead[2]?.letter?.original).toEqual(forged)
  })
})
