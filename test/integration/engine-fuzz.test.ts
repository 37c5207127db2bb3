/**
 * Fuzz through the live engine: 10,000 random field maps (fast-check) XADDed to the scores
 * stream. The engine keeps running; every entry is either applied (or counted late) or
 * dead-lettered with a reason and a bounded copy of its fields; nothing stays pending.
 */
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { deadLetterFields, parseDeadLetter } from "../../streams/dead-letter.ts"
import { decodeScoresEntry } from "../../streams/scores-wire.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const N = 10_000

const arbFieldMap = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom("symbol", "ts", "liquidity", "catalyst", "activity"), fc.string({ maxLength: 40 })),
    fc.oneof(
      { arbitrary: fc.constantFrom("AAPL", " msft ", "../x", "", "NaN", "Infinity", "0x1F", "1e999", "2026-01-05T10:00:00Z", "1767225600000", "DROP TABLE companies"), weight: 20 },
      { arbitrary: fc.double().map(String), weight: 20 },
      { arbitrary: fc.string({ maxLength: 80 }), weight: 20 },
      { arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }), weight: 20 },
      // A 10 KB value now and then (weighted: generating them is slow).
      { arbitrary: fc.string({ minLength: 10_000, maxLength: 10_000 }).map((v) => v), weight: 1 }
    )
  ),
  { minLength: 1, maxLength: 40 }
).map((pairs) => pairs.flat())

describe("engine fuzz", () => {
  let ns: TestNamespace
  let engine: RunningEngine | undefined
  afterEach(async () => {
    await engine?.stop()
    await ns.cleanup()
  })

  it(`applies or dead-letters each of ${N} random field maps, and keeps running`, async () => {
    ns = await testNamespace(ENGINE_ONLY)
    const stream = ingressKeys(ns.prefix).scores
    const maps = fc.sample(arbFieldMap, { numRuns: N, seed: 42 })
    engine = await runEngine(ns.config)
    const ids: string[] = []
    for (let i = 0; i < maps.length; i += 500) {
      const p = ns.redis.pipeline()
      for (const m of maps.slice(i, i + 500)) p.xadd(stream, "*", ...m)
      for (const [err, id] of (await p.exec()) ?? []) {
        if (err) throw err
        ids.push(id as string)
      }
    }
    const keys = partitionKeys(ns.prefix, 0)
    await waitUntil("every entry handled", async () => Number(await ns.redis.hget(keys.stats, "entries")) === N, 60_000)
    const stats = await ns.redis.hgetall(keys.stats)
    const expectedDead = maps.filter((m, i) => !decodeScoresEntry(ids[i] as string, m, { maxFields: 32, maxValueLength: 64 }).ok).length
    expect(Number(stats["dead"])).toBe(expectedDead)
    expect(Number(stats["applied"]) + Number(stats["late"]) + Number(stats["dead"])).toBe(N)
    expect(await ns.redis.xlen(ingressKeys(ns.prefix).scoresDead)).toBe(expectedDead)
    expect(((await ns.redis.xpending(stream, GROUPS.engine)) as unknown[])[0]).toBe(0)
    // Each dead letter carries a reason, its source entry ID and the original fields
    // (whole, or cut to the caps and marked truncated: the 10 KB values are cut).
    const dead = await ns.redis.xrange(ingressKeys(ns.prefix).scoresDead, "-", "+", "COUNT", 200)
    for (const [, f] of dead) {
      const letter = parseDeadLetter(f)
      expect(letter?.reason.length).toBeGreaterThan(0)
      const source = maps[ids.indexOf(letter?.sourceId ?? "")]
      expect(letter?.original).toEqual(letter?.truncated ? deadLetterFields({ id: "", fields: source ?? [] }, "").slice(6) : source)
    }
    // Still alive: a good event after the storm is applied.
    await ns.redis.xadd(stream, "*", "symbol", "ZZZ", "liquidity", "0.1")
    await waitUntil("engine still applying", async () => Number(await ns.redis.hget(keys.stats, "entries")) === N + 1)
  })
})
