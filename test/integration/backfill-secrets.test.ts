/**
 * No configured secret reaches a log line, a table, a stream entry or `strata status`,
 * even when the provider echoes its key in an error body (a 403 from the Polygon-shaped
 * server quoting the Authorization header it was sent): the key is absent from every
 * captured pino line, every `backfill_progress` column and every dead letter, and a key
 * stored before redaction existed is not printed by `strata status`.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { capturedLogger, polygonBackfill, runWorkers, waitForFinished, writeConfigFile } from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))
const AT = Date.UTC(2026, 0, 7, 15, 1)
const KEY = "pk_live_9f2c41d7e8Secret"

// `strata status` runs as a child process (tsx start-up): slow on a loaded machine.
describe("secrets in provider errors", { timeout: 300_000 }, () => {
  const t = polygonBackfill({ backfill: { claim_idle_ms: 300 } }, { apiKey: KEY })

  const keys = () => partitionKeys(t.ns.prefix, 0)

  const strataStatus = (...args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "status", ...args], {
      env: { ...t.ns.env, POLYGON_API_KEY: KEY, STRATA_CONFIG: writeConfigFile(t.dir, t.overrides), NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => { out += d.toString() })
    child.stderr.on("data", (d: Buffer) => { out += d.toString() })
    child.on("exit", (code) => resolve({ code, out }))
  })

  it("keeps an echoed API key out of logs, backfill_progress and dead letters", async () => {
    const { ns, server } = t
    server.script({ status: 403, echoKey: true })
    const captured = capturedLogger()
    t.workers = await runWorkers(ns.config, ns, { POLYGON_API_KEY: KEY }, captured.log)
    await ns.redis.xadd(keys().backfill, "*",
      ...commandFields({ id: "bf-echo", symbol: "AAPL", layer: 2, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 2 }))
    await waitForFinished(ns.sql, 1)
    await waitUntil("the dead letter logged", () => captured.lines.some((l) => l.includes("dead-lettered")))

    // The provider did echo the key: the server sent it back in the 403 body.
    expect(server.log.some((r) => r.status === 403)).toBe(true)
    const logs = captured.lines.join("")
    expect(logs).toContain("[redacted]")
    expect(logs).not.toContain(KEY)

    const rows = await ns.sql`SELECT * FROM backfill_progress`
    expect(rows[0]?.["status"]).toBe("dead")
    expect(String(rows[0]?.["last_error"])).toContain("[redacted]")
    expect(JSON.stringify(rows)).not.toContain(KEY)

    const dead = await ns.redis.xrange(keys().backfillDead, "-", "+")
    expect(dead.length).toBe(1)
    expect(JSON.stringify(dead)).toContain("[redacted]")
    expect(JSON.stringify(dead)).not.toContain(KEY)
  })

  it("strata status prints no secret stored in a progress row or a dead letter", async () => {
    // As written before redaction existed: the key in plain text in both places.
    const { ns } = t
    t.workers = await runWorkers(ns.config, ns, { POLYGON_API_KEY: KEY })
    await ns.sql`INSERT INTO backfill_progress (command_id, symbol, layer, data_types, at_ms, status, last_error)
      VALUES ('bf-old', 'AAPL', 2, 'market_data', ${AT}, 'dead', ${`Terminal: GET /v2/aggs: 403 Bearer ${KEY}`})`
    await ns.redis.xadd(keys().backfillDead, "*", "reason", "terminal error", "source_id", "1-1", "truncated", "0",
      "error", `Terminal: 403 ${KEY}`, "deliveries", "1", "symbol", "AAPL", "layer", "2")
    for (const args of [[], ["--json"]]) {
      const r = await strataStatus(...args)
      expect(r.code, r.out).toBe(0)
      expect(r.out).toContain("[redacted]")
      expect(r.out).not.toContain(KEY)
    }
  })
})
