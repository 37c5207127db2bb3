/**
 * What the workers do with commands that cannot complete: a terminal error (401) goes to
 * the dead-letter stream at once; a retryable error (503) that outlasts its retries is
 * left pending, reclaimed, and after `max_deliveries` goes to the dead-letter stream with
 * its last error; an undecodable entry is dead-lettered with the reason. All acknowledged.
 * Every dead letter follows the shared layout: reason, source_id, truncated first, then
 * error and deliveries, then the original fields; an input field named like a header
 * field is kept in the copy and cannot pose as the engine's.
 */
import { describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { parseDeadLetter } from "../../streams/backfill-dead-letter.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { polygonBackfill, runWorkers } from "../helpers/backfill-fixture.ts"
import { streamFields, waitUntil } from "../helpers/engine.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)

describe("backfill dead letters", () => {
  const t = polygonBackfill({
    backfill: { claim_idle_ms: 300, max_deliveries: 2, retry: { base_ms: 10, max_delay_ms: 20, max_attempts: 1, max_rate_limited_waits: 5 } }
  })

  const keys = () => partitionKeys(t.ns.prefix, 0)
  const issue = (id: string) => t.ns.redis.xadd(keys().backfill, "*",
    ...commandFields({ id, symbol: "AAPL", layer: 2, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 2 }))
  const dead = () => streamFields(t.ns.redis, keys().backfillDead)
  const letters = async () => (await t.ns.redis.xrange(keys().backfillDead, "-", "+")).map(([, f]) => ({ fields: f, letter: parseDeadLetter(f) }))
  const pendingCount = async () => Number(((await t.ns.redis.xpending(keys().backfill, GROUPS.workers)) as unknown[])[0])

  it("dead-letters a terminal error at once, with the error and the original fields", async () => {
    t.workers = await runWorkers(t.ns.config, t.ns, { POLYGON_API_KEY: "wrong-key" })
    const sourceId = await issue("bf-dl-terminal")
    await waitUntil("one dead letter", async () => (await dead()).length === 1)
    const [entry] = await letters()
    expect(entry?.fields.slice(0, 6)).toEqual(["reason", "terminal error", "source_id", sourceId, "truncated", "0"])
    expect(entry?.fields.slice(8, 10)).toEqual(["deliveries", "1"])
    expect(entry?.letter?.error).toMatch(/^Terminal: .*401/)
    expect(entry?.letter?.original).toMatchObject({ id: "bf-dl-terminal", symbol: "AAPL" })
    expect(entry?.fields.slice(10)).toEqual(commandFields({
      id: "bf-dl-terminal", symbol: "AAPL", layer: 2, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 2
    }))
    expect(await pendingCount()).toBe(0)
    const [row] = await t.ns.sql<{ status: string }[]>`SELECT status FROM backfill_progress WHERE command_id = 'bf-dl-terminal'`
    expect(row?.status).toBe("dead")
  })

  it("retries a retryable error, reclaims, and dead-letters after max_deliveries with the last error", async () => {
    t.server.script(...Array.from({ length: 100 }, () => ({ status: 503 })))
    t.workers = await runWorkers(t.ns.config, t.ns, { POLYGON_API_KEY: t.server.apiKey })
    await issue("bf-dl-retry")
    await waitUntil("one dead letter", async () => (await dead()).length === 1, 30_000)
    const [entry] = await letters()
    expect(entry?.letter).toMatchObject({ reason: "too many deliveries", deliveries: 3 })
    expect(entry?.letter?.error).toMatch(/^Retryable: .*503/)
    expect(await pendingCount()).toBe(0)
    const [row] = await t.ns.sql<{ status: string; failed: number; deliveries: number }[]>`
      SELECT status, failed, deliveries FROM backfill_progress WHERE command_id = 'bf-dl-retry'`
    expect(row?.status).toBe("dead")
    // Two deliveries worked on it, each with one attempt and one retry.
    expect(row?.failed).toBe(4)
    expect(t.server.log.filter((r) => r.status === 503).length).toBe(4)
  })

  it("dead-letters an entry it cannot decode", async () => {
    t.workers = await runWorkers(t.ns.config, t.ns, { POLYGON_API_KEY: t.server.apiKey })
    await t.ns.redis.xadd(keys().backfill, "*", "symbol", "../x", "layer", "2", "at", String(AT), "data_types", "market_data")
    await t.ns.redis.xadd(keys().backfill, "*", "symbol", "AAPL", "layer", "9", "at", String(AT), "data_types", "market_data",
      "reason", "spoofed", "source_id", "0-1", "error", "spoofed")
    await waitUntil("two dead letters", async () => (await dead()).length === 2)
    const got = await letters()
    expect(got.map((d) => d.letter?.error)).toEqual(['invalid command: invalid symbol "../x"', 'invalid command: invalid layer "9"'])
    expect(got.map((d) => d.letter?.reason)).toEqual(["invalid command", "invalid command"])
    // The input's own reason/source_id/error fields stay in the copy.
    expect(got[1]?.letter?.sourceId).not.toBe("0-1")
    expect(got[1]?.letter?.original).toMatchObject({ reason: "spoofed", source_id: "0-1", error: "spoofed" })
    expect(await pendingCount()).toBe(0)
  })
})
