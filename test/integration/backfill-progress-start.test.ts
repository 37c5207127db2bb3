/**
 * A command's start in `backfill_progress` arriving after its finish. A worker's statement
 * given up at `stall_ms` can still run once PostgreSQL answers, and a worker can reclaim
 * an entry whose first worker is still finishing it. Such a start does not reopen a
 * command finished from the same entry, or the row would say running for ever once the
 * finishing worker acknowledges the entry. A command started from a new entry (a
 * re-driven dead letter) runs again. Real PostgreSQL.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { MANUAL_CAUSE, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { finishCommand, PROGRESS_DDL, registerCommands, startCommand, type CommandStatus } from "../../src/backfill/progress.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const command = (id: string): BackfillCommand =>
  ({ id, symbol: "AAPL", layer: 2, from: 0, dataTypes: ["market_data"], at: Date.UTC(2026, 0, 7, 15, 1), cause: MANUAL_CAUSE, priority: 2 })

describe("a command's start after its finish", () => {
  let ns: TestNamespace
  beforeEach(async () => {
    ns = await testNamespaceWith(PROGRESS_DDL)
  })
  afterEach(async () => {
    await ns.cleanup()
  })

  const row = async (id: string) =>
    (await ns.sql<{ status: string; entry_id: string; deliveries: number }[]>`
      SELECT status, entry_id, deliveries FROM backfill_progress WHERE command_id = ${id}`)[0]

  it.each<CommandStatus>(["done", "shrunk", "cancelled", "dead"])("leaves a command finished %s from the same entry finished", async (status) => {
    const c = command(`bf-late-${status}`)
    await startCommand(ns.sql, c, "1-0", 1)
    await finishCommand(ns.sql, c.id, status)
    // The reclaiming worker's start lands last.
    await startCommand(ns.sql, c, "1-0", 2)
    expect(await row(c.id)).toEqual({ status, entry_id: "1-0", deliveries: 1 })
  })

  it("runs a finished command again when it comes as a new entry", async () => {
    const c = command("bf-redriven")
    await startCommand(ns.sql, c, "1-0", 1)
    await finishCommand(ns.sql, c.id, "dead", "terminal error")
    await startCommand(ns.sql, c, "7-0", 1)
    expect(await row(c.id)).toEqual({ status: "running", entry_id: "7-0", deliveries: 1 })
  })

  it("starts a queued command and a command not seen before", async () => {
    const queued = command("bf-queued")
    await registerCommands(ns.sql, [queued])
    await startCommand(ns.sql, queued, "2-0", 1)
    expect(await row(queued.id)).toEqual({ status: "running", entry_id: "2-0", deliveries: 1 })
    const fresh = command("bf-fresh")
    await startCommand(ns.sql, fresh, "3-0", 1)
    expect(await row(fresh.id)).toEqual({ status: "running", entry_id: "3-0", deliveries: 1 })
    // A running command's next delivery of the same entry is recorded.
    await startCommand(ns.sql, fresh, "3-0", 2)
    expect((await row(fresh.id))?.deliveries).toBe(2)
  })
})
