/**
 * PostgreSQL crashing under a busy engine process: ten `pg_ctl stop -m immediate` of a
 * private cluster while the projector and the backfill workers write to it, each followed
 * by a restart on the same port and data folder. The engine process stays up, ingest
 * (Redis only) keeps applying entries while PostgreSQL is down, the projector and the
 * workers resume, nothing is dead-lettered for these transient failures, and
 * `strata reconcile` exits 0 at the end.
 */
import { spawn, spawnSync } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { startPostgres, type PrivateServer } from "../../src/services/private-servers.ts"
import { openPostgres } from "../../src/services/postgres.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { waitUntil } from "../helpers/engine.ts"
import { SMALL_CHUNKS, SMALL_RETENTION, finishedCommands, writeConfigFile } from "../helpers/backfill-fixture.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))
const RESTARTS = 10
const EVENTS = 6_000

describe("PostgreSQL restarts under the engine", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-pgrestart-"))
  chmodSync(dir, 0o755)
  let pg: PrivateServer | undefined
  let ns: TestNamespace | undefined
  let engine: ReturnType<typeof spawn> | undefined
  afterAll(async () => {
    if (engine && engine.exitCode === null) engine.kill("SIGKILL")
    await pg?.stop()
    await ns?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`keeps the engine up through ${RESTARTS} immediate PostgreSQL restarts, losing nothing`, async () => {
    pg = await startPostgres(join(dir, "pg"))
    const port = pg.port
    ns = await testNamespace()
    const configFile = writeConfigFile(dir, {
      // Every layer owes a few days of everything, so commands finish within the test.
      retention: { L1: SMALL_RETENTION.L2, L2: SMALL_RETENTION.L2, L3: SMALL_RETENTION.L2 },
      storage: { lake: join(dir, "lake") },
      // A command whose work stalls (a statement that never settles) is given up well inside the wait below.
      backfill: { workers: 3, block_ms: 200, claim_idle_ms: 5_000, stall_ms: 30_000, chunk_days: SMALL_CHUNKS },
      // Slow enough that the workers are mid-command at each restart.
      providers: { synthetic: { rate_limit: { requests_per_second: 100, max_concurrent: 0 } } }
    })
    const env = { ...ns.env, DATABASE_URL: pg.url, STRATA_CONFIG: configFile, NODE_NO_WARNINGS: "1", LOG_LEVEL: "info" }
    let output = ""
    engine = spawn(process.execPath, ["--import", "tsx", MAIN, "engine"], { env, stdio: ["ignore", "pipe", "pipe"] })
    engine.stdout?.on("data", (d: Buffer) => { output += d.toString() })
    engine.stderr?.on("data", (d: Buffer) => { output += d.toString() })
    const alive = () => {
      if (engine?.exitCode !== null) throw new Error(`the engine exited (${engine?.exitCode}):\n${output.slice(-3000)}`)
      return true
    }

    const keys = partitionKeys(ns.prefix, 0)
    const scores = ingressKeys(ns.prefix).scores
    const applied = async () => Number((await ns!.redis.hget(keys.stats, "entries")) ?? 0)
    const entries = workloadArray({ events: EVENTS, symbols: 30, seed: 11, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000 })
    const segment = Math.ceil(EVENTS / (RESTARTS + 1))
    await xaddAll(ns.redis, scores, entries.slice(0, segment))
    // The restarts hit a running engine, not one still migrating its tables.
    await waitUntil("the engine to run", () => alive() && output.includes('"msg":"engine running"'), 90_000)
    await waitUntil("the engine applied the first entries", async () => alive() && (await applied()) > 0, 90_000)

    for (let i = 0; i < RESTARTS; i++) {
      // Busy: a fresh segment for ingest, the projector and the workers behind it.
      await waitUntil("some lifecycle entries to project", async () => alive() && (await ns!.redis.xlen(keys.lifecycle)) > 0)
      await pg.stop("immediate")
      // Ingest needs Redis only: it keeps applying while PostgreSQL is down.
      const atStop = await applied()
      await xaddAll(ns.redis, scores, entries.slice((i + 1) * segment, (i + 2) * segment))
      await waitUntil("ingest to go on while PostgreSQL is down", async () => alive() && (await applied()) > atStop)
      pg = await startPostgres(join(dir, "pg"), { port })
      alive()
    }

    await waitUntil("every entry applied", async () => alive() && (await applied()) >= EVENTS, 120_000)
    await waitUntil("the projector caught up", async () => {
      alive()
      const groups = (await ns!.redis.xinfo("GROUPS", keys.lifecycle)) as unknown[][]
      const g = groups.find((x) => x[1] === GROUPS.projector)
      return g !== undefined && g[g.indexOf("lag") + 1] === 0 && g[g.indexOf("pending") + 1] === 0
    }, 120_000)
    const sql = openPostgres(pg.url, ns.schema, 1)
    try {
      const commands = await ns.redis.xlen(keys.backfill)
      expect(commands).toBeGreaterThan(0)
      await waitUntil("every backfill command finished", async () => alive() && (await finishedCommands(sql)).length >= commands, 300_000)
        .catch(async (e: unknown) => {
          const statuses = await sql`SELECT status, count(*)::int AS n, max(deliveries) AS d FROM backfill_progress GROUP BY status`
          throw new Error(`${(e as Error).message}: ${commands} commands, ${JSON.stringify(statuses)}`)
        })
      // No dead letter for a transient failure: not a score, not a command.
      expect(await ns.redis.xlen(ingressKeys(ns.prefix).scoresDead)).toBe(0)
      expect(await ns.redis.xlen(keys.backfillDead)).toBe(0)
      expect((await finishedCommands(sql)).filter((c) => c.status === "dead")).toEqual([])
    } finally {
      await sql.end({ timeout: 2 })
    }
    expect(Number(await ns.redis.hget(keys.stats, "dead") ?? 0)).toBe(0)

    const reconcile = spawnSync(process.execPath, ["--import", "tsx", MAIN, "reconcile", "--wait", "--timeout", "60"], { env, encoding: "utf8", timeout: 120_000 })
    expect(reconcile.stdout).toContain("divergent: 0")
    expect(reconcile.status).toBe(0)
    alive()
    engine.kill("SIGTERM")
    await new Promise((r) => engine?.once("exit", r))
  }, 600_000)
})
