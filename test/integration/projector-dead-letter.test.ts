/**
 * Hand-written lifecycle entries through the live engine's projector and a real
 * PostgreSQL: each one that breaks the contract (a layer 9, an event time in the year
 * 5000, a cause that is no entry ID, a type that does not match its layers, 10k fields)
 * goes to the lifecycle dead-letter stream with its reason; the projector acknowledges it
 * and goes on projecting the engine's own events.
 */
import { afterEach, describe, expect, it } from "vitest"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2026, 0, 5, 14, 30)
const good = (over: Record<string, string>): string[] =>
  Object.entries({ type: "SymbolQualified", symbol: "HAND", from: "0", to: "1", at: String(T0), cause: `${T0}-0`, liquidity: "0.9", ...over }).flat()

const BAD: readonly [string, string[], RegExp][] = [
  ["to 9", good({ to: "9" }), /^invalid to "9"/],
  ["at 1e20", good({ at: "1e20" }), /^invalid at "1e20"/],
  ["at beyond 2200", good({ at: "99999999999999" }), /^invalid at/],
  ["a cause that is no entry ID", good({ cause: "hello" }), /^invalid cause "hello"/],
  ["a cause beyond 64 bits", good({ cause: "99999999999999999999-0" }), /^invalid cause/],
  ["a type that does not match", good({ type: "SymbolDemoted" }), /^type SymbolDemoted does not match/],
  ["from equal to to", good({ from: "2", to: "2", type: "SymbolPromoted" }), /^from and to are both 2/],
  ["a lower-case symbol", good({ symbol: "aapl" }), /^invalid symbol/],
  ["a score that is not finite", good({ liquidity: "Infinity" }), /^score liquidity is not a finite/],
  ["10k fields", [...good({}), ...Array.from({ length: 10_000 }, (_, i) => [`s${i}`, "1"]).flat()], /^too many fields/],
  ["no type", good({}).slice(2), /^missing type/]
]

describe("projector and hand-written lifecycle entries", () => {
  let ns: TestNamespace
  let engine: RunningEngine | undefined
  afterEach(async () => {
    await engine?.stop()
    await ns.cleanup()
  })

  it("dead-letters every entry that breaks the contract, with a reason, and keeps projecting", async () => {
    ns = await testNamespace(ENGINE_ONLY)
    const keys = partitionKeys(ns.prefix, 0)
    engine = await runEngine(ns.config)
    const ids: string[] = []
    for (const [, fields] of BAD) ids.push((await ns.redis.xadd(keys.lifecycle, "*", ...fields)) as string)
    // A hand-written entry that keeps the contract is projected like the engine's own.
    await ns.redis.xadd(keys.lifecycle, "*", ...good({ symbol: "OKHAND" }))
    // The engine's own events after them.
    const scores = ingressKeys(ns.prefix).scores
    await ns.redis.xadd(scores, "*", "symbol", "AAPL", "liquidity", "0.91", "ts", String(T0))
    await ns.redis.xadd(scores, "*", "symbol", "AAPL", "liquidity", "0.92", "ts", String(T0 + 60_000))

    await waitUntil("the engine's event projected", async () =>
      (await ns.sql`SELECT layer FROM companies WHERE symbol = 'AAPL'`)[0]?.["layer"] === 1, 60_000)
    expect((await ns.sql`SELECT symbol, layer FROM companies ORDER BY symbol`).map((r) => [r["symbol"], r["layer"]]))
      .toEqual([["AAPL", 1], ["OKHAND", 1]])
    expect(((await ns.redis.xpending(keys.lifecycle, GROUPS.projector)) as unknown[])[0]).toBe(0)
    const dead = (await ns.redis.xrange(keys.lifecycleDead, "-", "+")).map(([, f]) => parseDeadLetter(f))
    expect(dead.map((d) => d?.sourceId)).toEqual(ids)
    BAD.forEach(([what, , reason], i) => expect(dead[i]?.reason, what).toMatch(reason))
    expect(dead.map((d) => d?.truncated)).toEqual(BAD.map(([what]) => what === "10k fields"))
  })
})
