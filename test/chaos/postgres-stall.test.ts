/**
 * PostgreSQL stalling under a backfill worker: every process of a private cluster is
 * paused (SIGSTOP) while a command is mid-way, so the statement in flight never settles
 * and no error ever comes, as with a connection that died without a word. The worker's
 * heartbeat still reaches Redis; without a bound the command would stay `running` for
 * ever. The worker must give the command up once its work has made no progress for
 * `backfill.stall_ms`, log why (naming the command, never the URL's password), stop
 * extending its claim so the claim lapses and the entry is reclaimed, and, once PostgreSQL runs again, carry
 * the command through to `done` without a dead letter.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { startPostgres, type PrivateServer } from "../../src/services/private-servers.ts"
import { openPostgres, type Sql } from "../../src/services/postgres.ts"
import { capturedLogger, progressDone, runWorkers } from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)
const ONE_DAY_CHUNKS = { "1day": 1, "1hour": 1, "5min": 1, "1min": 1, tick: 1, events: 1 }
const PASSWORD = "stall-secret-pw"

/** The postmaster and every process it started (backends, checkpointer, …). */
const clusterPids = (postmaster: number): number[] => {
  const children = spawnSync("ps", ["-o", "pid=", "--ppid", String(postmaster)], { encoding: "utf8" }).stdout
  return [postmaster, ...children.split("\n").map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0)]
}

const signalAll = (postmaster: number, signal: "SIGSTOP" | "SIGCONT") => {
  for (const pid of clusterPids(postmaster)) {
    try {
      process.kill(pid, signal)
    } catch (e) {
      // A backend that ended between the listing and the signal has nothing to pause.
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e
    }
  }
}

describe("PostgreSQL stalls under a backfill worker", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-pgstall-"))
  chmodSync(dir, 0o755)
  let pg: PrivateServer | undefined
  let ns: TestNamespace | undefined
  let workers: { stop: () => Promise<void> } | undefined
  let sql: Sql | undefined
  let paused = false
  afterAll(async () => {
    if (pg && paused) signalAll(pg.pid, "SIGCONT")
    await workers?.stop()
    await sql?.end({ timeout: 2 })
    await pg?.stop()
    await ns?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it("gives up a command whose statement never settles, and finishes it once PostgreSQL runs again", async () => {
    pg = await startPostgres(join(dir, "pg"))
    // Trust authentication ignores the password; it is there to be kept out of the log.
    const url = pg.url.replace("postgres@", `postgres:${PASSWORD}@`)
    ns = await testNamespace({
      retention: { L2: { market_data: { hot_days: 3, cold_days: 30, intervals: ["1day"] } } },
      backfill: { workers: 1, block_ms: 100, claim_idle_ms: 3000, stall_ms: 2000, max_deliveries: 50, chunk_days: ONE_DAY_CHUNKS },
      // Slow enough that the command is mid-way when PostgreSQL stops.
      providers: { synthetic: { rate_limit: { requests_per_second: 4, max_concurrent: 0 } } }
    })
    const captured = capturedLogger()
    workers = await runWorkers(ns.config, { redisUrl: ns.redisUrl, databaseUrl: url }, {}, captured.log)
    sql = openPostgres(pg.url, ns.schema, 1)
    const stream = partitionKeys(ns.prefix, 0).backfill
    const id = "bf-stall"
    await ns.redis.xadd(stream, "*", ...commandFields({ id, symbol: "AAPL", layer: 2, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 2 }))
    await waitUntil("a few tasks done", async () => (await progressDone(sql!, id)) >= 2, 60_000)

    signalAll(pg.pid, "SIGSTOP")
    paused = true
    const stalled = () => captured.lines.filter((l) => l.includes("backfill command stalled"))
    await waitUntil("the worker to give the stalled command up", () => stalled().length > 0, 60_000)
    const line = stalled()[0] ?? ""
    expect(line).toContain(id)
    expect(line).toContain("stall_ms")
    expect(captured.lines.join("\n")).not.toContain(PASSWORD)
    // Its heartbeat stopped: the entry's idle time passes claim_idle_ms, so it can be reclaimed.
    await waitUntil("the claim to lapse", async () => {
      const [row] = (await ns!.redis.xpending(stream, GROUPS.workers, "-", "+", 1)) as [string, string, number, number][]
      return row !== undefined && row[2] >= 3000
    }, 60_000)

    signalAll(pg.pid, "SIGCONT")
    paused = false
    await waitUntil("the command done", async () => {
      const rows = await sql!<{ status: string }[]>`SELECT status FROM backfill_progress WHERE command_id = ${id}`
      return rows[0]?.status === "done"
    }, 120_000)
    // Done by a later delivery, the stalled one having been given up.
    const [row] = await sql<{ deliveries: number; last_error: string | null }[]>`SELECT deliveries, last_error FROM backfill_progress WHERE command_id = ${id}`
    expect(row?.deliveries).toBeGreaterThanOrEqual(2)
    expect(await ns.redis.xlen(partitionKeys(ns.prefix, 0).backfillDead)).toBe(0)
    expect(captured.lines.join("\n")).not.toContain(PASSWORD)
  }, 300_000)
})
