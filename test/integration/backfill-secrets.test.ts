/**
 * No configured secret reaches a log line, a table, a stream entry or `strata status`,
 * even when the provider echoes its key in an error body (a 403 from the Polygon-shaped
 * server quoting the Authorization header it was sent): the key is absent from every
 * captured pino line, every `backfill_progress` column and every dead letter, and a key
 * stored before redaction existed is not printed by `strata status`.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../src/backfill/command.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { capturedLogger, runWorkers, waitForFinished, writeConfigFile } from "../helpers/backfill-fixture.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { startPolygonServer, type PolygonServer } from "../helpers/polygon-server.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))
const AT = Date.UTC(2026, 0, 7, 15, 1)
const KEY = "pk_live_9f2c41d7e8Secret"

describe("secrets in provider errors", () => {
  let ns: TestNamespace
  let server: PolygonServer
  let dir: string
  let overrides: Record<string, unknown>
  let workers: { stop: () => Promise<void> } | undefined

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-secrets-"))
    server = await startPolygonServer({ apiKey: KEY })
    overrides = {
      retention: { L2: { market_data: { hot_days: 2, cold_days: 4, intervals: ["1day"] } } },
      storage: { lake: join(dir, "lake") },
      backfill: { workers: 1, provider: "polygon", block_ms: 100, claim_idle_ms: 300 },
      providers: { polygon: { base_url: server.url, rate_limit: { requests_per_second: 0, max_concurrent: 0 } } }
    }
    ns = await testNamespace(overrides)
  })
  afterEach(async () => {
    await workers?.stop()
    workers = undefined
    await server.close()
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  const keys = () => partitionKeys(ns.prefix, 0)

  const strataStatus = (...args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "status", ...args], {
      env: { ...ns.env, POLYGON_API_KEY: KEY, STRATA_CONFIG: writeConfigFile(dir, overrides), NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => { out += d.toString() })
    child.stderr.on("data", (d: Buffer) => { out += d.toString() })
    child.on("exit", (code) => resolve({ code, out }))
  })

  it("keeps an echoed API key out of logs, backfill_progress and dead letters", async () => {
    server.script({ status: 403, echoKey: true })
    const captured = capturedLogger()
    workers = await runWorkers(ns.config, ns, { POLYGON_API_KEY: KEY }, captured.log)
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
    workers = await runWorkers(ns.config, ns, { POLYGON_API_KEY: KEY })
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
