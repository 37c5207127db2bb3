/**
 * The worker heartbeat as one check-and-extend script (streams/lua/extend-claim-1.lua):
 * it extends an entry still pending for its consumer without counting a delivery, and
 * reports an entry another consumer took, one acknowledged, and one removed from the
 * stream. A worker whose heartbeat finds its entry taken stops and goes on to the next.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { extendClaim, readNew } from "../../streams/consumer.ts"
import { ensureGroup } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { capturedLogger, progressDone, runWorkers } from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const ONE_DAY_CHUNKS = { "1day": 1, "1hour": 1, "5min": 1, "1min": 1, tick: 1, events: 1 }

type PendingRow = [string, string, number, number]

describe("worker heartbeat", () => {
  let ns: TestNamespace
  let workers: { stop: () => Promise<void> } | undefined

  beforeEach(async () => {
    ns = await testNamespace({
      retention: { L2: { market_data: { hot_days: 3, cold_days: 30, intervals: ["1day"] } } },
      // Beats every second; the entry another consumer took stays with it well past a beat.
      backfill: { workers: 1, block_ms: 100, claim_idle_ms: 3000, chunk_days: ONE_DAY_CHUNKS },
      providers: { synthetic: { rate_limit: { requests_per_second: 4, max_concurrent: 0 } } }
    })
  })
  afterEach(async () => {
    await workers?.stop()
    workers = undefined
    await ns.cleanup()
  })

  const stream = () => partitionKeys(ns.prefix, 0).backfill
  const pending = async (id: string) => ((await ns.redis.xpending(stream(), GROUPS.workers, id, id, 1)) as PendingRow[])[0]

  it("extends its own entry, and reports one taken, acknowledged or removed", async () => {
    await ensureGroup(ns.redis, stream(), GROUPS.workers)
    for (let i = 0; i < 4; i++) await ns.redis.xadd(stream(), "*", "n", String(i))
    const [a, b, c, d] = await readNew(ns.redis, stream(), GROUPS.workers, "w1", 4, 0)
    if (!a || !b || !c || !d) throw new Error("four entries expected")

    // Idle for a good while, then extended: the idle time starts again from 0.
    await waitUntil("entry a idle", async () => Number((await pending(a.id))?.[2]) >= 1000)
    const before = Number((await pending(a.id))?.[2])
    expect(await extendClaim(ns.redis, stream(), GROUPS.workers, "w1", a.id)).toEqual({ status: "ok" })
    const extended = await pending(a.id)
    expect(extended?.[1]).toBe("w1")
    expect(Number(extended?.[2])).toBeLessThan(before)
    expect(Number(extended?.[3])).toBe(1)

    await ns.redis.xclaim(stream(), GROUPS.workers, "w2", 0, b.id, "JUSTID")
    expect(await extendClaim(ns.redis, stream(), GROUPS.workers, "w1", b.id)).toEqual({ status: "taken", owner: "w2" })
    expect((await pending(b.id))?.[1]).toBe("w2")

    await ns.redis.xack(stream(), GROUPS.workers, c.id)
    expect(await extendClaim(ns.redis, stream(), GROUPS.workers, "w1", c.id)).toEqual({ status: "released" })

    await ns.redis.xdel(stream(), d.id)
    expect(await extendClaim(ns.redis, stream(), GROUPS.workers, "w1", d.id)).toEqual({ status: "gone" })
    // Left pending for the caller to settle and acknowledge.
    expect((await pending(d.id))?.[1]).toBe("w1")
  })

  it("stops working on an entry another consumer took, and goes on with the next", async () => {
    const captured = capturedLogger()
    workers = await runWorkers(ns.config, ns, {}, captured.log)
    const issue = (id: string) => ns.redis.xadd(stream(), "*",
      ...commandFields({ id, symbol: id === "bf-first" ? "AAPL" : "MSFT", layer: 2, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 2 }))
    const first = String(await issue("bf-first"))
    await issue("bf-second")
    await waitUntil("a few tasks done", async () => (await progressDone(ns.sql, "bf-first")) >= 2)
    // Another consumer takes the entry although the worker is alive (as a reclaim on a
    // slow machine might): the next beat must notice and the worker must let go.
    await ns.redis.xclaim(stream(), GROUPS.workers, "intruder", 0, first, "JUSTID")
    await waitUntil("the worker let go", () => captured.lines.some((l) => l.includes("taken over by another worker")))
    // One command at a time: the next one starts only because the first was let go.
    await waitUntil("the next command started", async () =>
      (await ns.sql`SELECT 1 FROM backfill_progress WHERE command_id = 'bf-second' AND started_at IS NOT NULL`).length === 1, 60_000)
    const [order] = await ns.sql<{ first_open: boolean }[]>`
      SELECT f.finished_at IS NULL OR s.started_at < f.finished_at AS first_open
      FROM backfill_progress f, backfill_progress s WHERE f.command_id = 'bf-first' AND s.command_id = 'bf-second'`
    expect(order?.first_open).toBe(true)
  })
})
