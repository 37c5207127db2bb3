/**
 * Backfill commands whose stream entry is removed (XTRIM / MAXLEN trimming, XDEL) before
 * they complete do not vanish: a queued command trimmed before any worker read it (found
 * by the entry ID the CLI recorded), an entry pending at a consumer that died, then
 * trimmed (XAUTOCLAIM reports it deleted), and an entry removed while a worker works on
 * it, all end as a dead letter with a reason and their progress `dead` with the reason in
 * last_error, so `strata backfill` stops waiting. The worker goes on with the next.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { commandFields, decodeCommand, MANUAL_CAUSE, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { parseDeadLetter } from "../../streams/backfill-dead-letter.ts"
import { PROGRESS_DDL, recordEntryIds, registerCommands, startCommand } from "../../src/backfill/progress.ts"
import { migrate } from "../../src/services/postgres.ts"
import { ensureGroup, readNew } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { progressDone, runWorkers } from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const ONE_DAY_CHUNKS = { "1day": 1, "1hour": 1, "5min": 1, "1min": 1, tick: 1, events: 1 }

const command = (id: string, symbol = "AAPL"): BackfillCommand =>
  ({ id, symbol, layer: 2, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 2 })

describe("backfill entries removed from the stream", () => {
  let ns: TestNamespace
  let workers: { stop: () => Promise<void> } | undefined

  beforeEach(async () => {
    ns = await testNamespace({
      retention: { L2: { market_data: { hot_days: 3, cold_days: 30, intervals: ["1day"] } } },
      backfill: { workers: 1, block_ms: 100, claim_idle_ms: 600, chunk_days: ONE_DAY_CHUNKS },
      providers: { synthetic: { rate_limit: { requests_per_second: 4, max_concurrent: 0 } } }
    })
  })
  afterEach(async () => {
    await workers?.stop()
    workers = undefined
    await ns.cleanup()
  })

  const keys = () => partitionKeys(ns.prefix, 0)
  const progress = async (id: string) =>
    (await ns.sql<{ status: string; last_error: string | null }[]>`SELECT status, last_error FROM backfill_progress WHERE command_id = ${id}`)[0]
  const deadLetters = async () => (await ns.redis.xrange(keys().backfillDead, "-", "+")).map(([, f]) => parseDeadLetter(f))
  const pendingCount = async () => Number(((await ns.redis.xpending(keys().backfill, GROUPS.workers)) as unknown[])[0])

  it("fails a queued command trimmed before any worker read it", async () => {
    await migrate(ns.sql, ns.schema, PROGRESS_DDL)
    // Issued as `strata backfill` does: registered queued, sent, its entry ID recorded.
    const cmds = [command("bf-queued-gone"), command("bf-queued-kept", "MSFT")]
    await registerCommands(ns.sql, cmds)
    const ids = [] as string[]
    for (const c of cmds) ids.push(String(await ns.redis.xadd(keys().backfill, "*", ...commandFields(c))))
    await recordEntryIds(ns.sql, cmds.map((c, i) => [c.id, ids[i] ?? ""] as const))
    await ns.redis.xdel(keys().backfill, ids[0] ?? "")

    workers = await runWorkers(ns.config, ns)
    await waitUntil("the removed command dead", async () => (await progress("bf-queued-gone"))?.status === "dead")
    expect((await progress("bf-queued-gone"))?.last_error).toMatch(/removed from the stream .* before any worker read it/)
    await waitUntil("the other command done", async () => (await progress("bf-queued-kept"))?.status === "done", 60_000)
    const letters = await deadLetters()
    expect(letters.length).toBe(1)
    expect(letters[0]).toMatchObject({ reason: "removed from the stream", sourceId: ids[0] })
  })

  it("dead-letters a command trimmed while pending at a consumer that died", async () => {
    await migrate(ns.sql, ns.schema, PROGRESS_DDL)
    await ensureGroup(ns.redis, keys().backfill, GROUPS.workers)
    const sourceId = await ns.redis.xadd(keys().backfill, "*", ...commandFields(command("bf-trimmed")))
    // A worker took it, started it, and died.
    const [taken] = await readNew(ns.redis, keys().backfill, GROUPS.workers, "died", 1, 0)
    const cmd = decodeCommand(taken?.fields ?? [])
    if (typeof cmd === "string" || !taken) throw new Error("the command should decode")
    await startCommand(ns.sql, cmd, taken.id, 1)
    // The stream is trimmed under its pending entry.
    await ns.redis.xtrim(keys().backfill, "MAXLEN", 0)

    workers = await runWorkers(ns.config, ns)
    await waitUntil("the command dead", async () => (await progress("bf-trimmed"))?.status === "dead")
    expect((await progress("bf-trimmed"))?.last_error).toMatch(new RegExp(`entry ${sourceId} was removed from the stream`))
    const [letter] = await deadLetters()
    expect(letter).toMatchObject({ reason: "removed from the stream", sourceId, truncated: false, deliveries: 1 })
    expect(letter?.error).toMatch(/command bf-trimmed/)
    expect(await pendingCount()).toBe(0)
  })

  for (const how of ["XDEL", "XTRIM"] as const) {
    it(`dead-letters a command whose entry is removed by ${how} while a worker works on it, and goes on`, async () => {
      workers = await runWorkers(ns.config, ns)
      const sourceId = String(await ns.redis.xadd(keys().backfill, "*", ...commandFields(command("bf-removed"))))
      await waitUntil("a few tasks done", async () => (await progressDone(ns.sql, "bf-removed")) >= 2)
      if (how === "XDEL") await ns.redis.xdel(keys().backfill, sourceId)
      else await ns.redis.xtrim(keys().backfill, "MAXLEN", 0)

      await waitUntil("the command dead", async () => (await progress("bf-removed"))?.status === "dead")
      expect((await progress("bf-removed"))?.last_error).toMatch(/removed from the stream .* while it was being carried out/)
      await waitUntil("one dead letter", async () => (await deadLetters()).length === 1)
      const [letter] = await deadLetters()
      expect(letter).toMatchObject({ reason: "removed from the stream", sourceId, truncated: false, deliveries: 1 })
      expect(letter?.original).toMatchObject({ id: "bf-removed", symbol: "AAPL", layer: "2" })
      expect(await pendingCount()).toBe(0)

      // The worker goes on: the next command completes.
      await ns.redis.xadd(keys().backfill, "*", ...commandFields({ ...command("bf-next", "MSFT"), dataTypes: ["market_data"] }))
      await waitUntil("the next command done", async () => (await progress("bf-next"))?.status === "done", 60_000)
    })
  }
})
