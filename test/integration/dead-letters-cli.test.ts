/**
 * `strata dead-letters` as an operator runs it (child processes), and the re-drive it is
 * built on (in process, against the test Redis): list and show read every layout in use,
 * retry re-drives the original fields to the source stream exactly once (repeated and
 * concurrent retries add nothing), truncated copies are refused, purge needs --yes
 * without a terminal. Also: with LOG_LEVEL=info a command's stdout is its output alone.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { redrive } from "../../src/cli/dead-letters.ts"
import { openRedis } from "../../src/services/redis.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { streamFields } from "../helpers/engine.ts"
import { runStrata } from "../helpers/cli.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

describe("strata dead-letters", () => {
  let ns: TestNamespace
  beforeEach(async () => { ns = await testNamespace() })
  afterEach(async () => { await ns.cleanup() })

  const strata = (args: string[], env: NodeJS.ProcessEnv = {}) => runStrata({ ...ns.env, ...env }, args)

  // Distinct IDs: entries written in one millisecond to different streams share an ID, and
  // `show`/`retry` without --source look in every dead-letter stream.
  const seed = async () => {
    const ingress = ingressKeys(ns.prefix)
    const keys = partitionKeys(ns.prefix, 0)
    // The older scores layout (reason, source_id, then the copy); a copy holding a field named `reason` stays a copy.
    const scores = await ns.redis.xadd(ingress.scoresDead, "1000-1", "reason", "liquidity not a number", "source_id", "1-0", "symbol", "AAPL", "liquidity", "x", "reason", "mine")
    const cut = await ns.redis.xadd(ingress.scoresDead, "1000-2", "reason", "too long", "source_id", "2-0", "truncated", "1", "symbol", "MSF")
    const backfill = await ns.redis.xadd(keys.backfillDead, "2000-1", "id", "c1", "symbol", "IBM", "layer", "1", "error", "provider 500", "deliveries", "5", "source_id", "3-0")
    const lifecycle = await ns.redis.xadd(keys.lifecycleDead, "3000-1", "reason", "projector failed", "source_id", "4-0", "truncated", "0", "error", "boom", "deliveries", "3", "type", "SymbolQualified", "symbol", "NVDA")
    return { ingress, keys, scores: scores!, cut: cut!, backfill: backfill!, lifecycle: lifecycle! }
  }

  it("re-drives a dead letter exactly once, even when retried concurrently", async () => {
    const s = await seed()
    const conns = Array.from({ length: 5 }, (_, i) => openRedis(ns.redisUrl, `retry-${i}`))
    try {
      const results = await Promise.all(conns.map((c) => redrive(c, { dead: s.ingress.scoresDead, target: s.ingress.scores }, "scores", s.scores)))
      expect(results.filter((r) => r.status === "retried")).toHaveLength(1)
      expect(results.filter((r) => r.status === "gone")).toHaveLength(4)
    } finally {
      await Promise.all(conns.map((c) => c.quit()))
    }
    expect(await streamFields(ns.redis, s.ingress.scores)).toEqual([{ symbol: "AAPL", liquidity: "x", reason: "mine" }])
    expect(await ns.redis.xrange(s.ingress.scoresDead, s.scores, s.scores)).toEqual([])
  })

  it("lists, shows, retries once, refuses truncated copies and purges only with --yes", async () => {
    const s = await seed()
    const list = await strata(["dead-letters", "list", "--json"], { LOG_LEVEL: "info" })
    expect(list.code).toBe(0)
    const listed = JSON.parse(list.out) as { lengths: Record<string, number>; entries: { id: string; source: string; layout: string; fields: Record<string, string> }[] }
    expect(listed.lengths).toEqual({ scores: 2, lifecycle: 1, backfill: 1 })
    expect(listed.entries.map((e) => [e.source, e.id, e.layout]).sort()).toEqual([
      ["backfill", s.backfill, "backfill-legacy"], ["lifecycle", s.lifecycle, "header"], ["scores", s.cut, "header"], ["scores", s.scores, "scores-legacy"]
    ].sort())

    const show = await strata(["dead-letters", "show", s.lifecycle, "--json"])
    expect(JSON.parse(show.out)).toMatchObject({ source: "lifecycle", reason: "projector failed", source_id: "4-0", error: "boom", fields: { type: "SymbolQualified", symbol: "NVDA" } })
    expect((await strata(["dead-letters", "show", "9-9"])).code).toBe(1)

    const retry = await strata(["dead-letters", "retry", s.backfill, s.cut, "--json"])
    expect(retry.code).toBe(1)
    const results = (JSON.parse(retry.out) as { results: { id: string; status: string }[] }).results
    expect(results.map((r) => [r.id, r.status])).toEqual([[s.backfill, "retried"], [s.cut, "refused"]])
    expect(await streamFields(ns.redis, s.keys.backfill)).toEqual([{ id: "c1", symbol: "IBM", layer: "1" }])
    const again = await strata(["dead-letters", "retry", s.backfill])
    expect(again.code).toBe(0)
    expect(again.out).toContain("nothing done")
    expect(await ns.redis.xlen(s.keys.backfill)).toBe(1)

    const refused = await strata(["dead-letters", "purge", "--source", "scores"])
    expect(refused.code).toBe(2)
    expect(refused.err).toContain("--yes")
    expect(await ns.redis.xlen(s.ingress.scoresDead)).toBe(2)
    const purged = await strata(["dead-letters", "purge", "--source", "scores", "--yes"])
    expect(purged.out).toContain("deleted 2")
    expect(await ns.redis.xlen(s.ingress.scoresDead)).toBe(0)
    expect(await ns.redis.xlen(s.keys.lifecycleDead)).toBe(1)
  }, 300_000)

  it("keeps stdout for the output: `status --json` parses with LOG_LEVEL=info while logs go to stderr", async () => {
    const r = await strata(["status", "--json"], { LOG_LEVEL: "info" })
    expect(r.code).toBe(0)
    const status = JSON.parse(r.out) as { streams: { key: string }[] }
    expect(status.streams.map((s) => s.key)).toContain(`${ns.prefix}:scores`)
    // The logs were written, as JSON lines, to stderr.
    const lines = r.err.split("\n").filter((l) => l.startsWith("{"))
    expect(lines.length).toBeGreaterThan(0)
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty("level")
  }, 120_000)
})
