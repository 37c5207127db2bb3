/**
 * The operator commands as a user runs them (child processes): `strata backfill --symbols
 * layer1` issues one command per qualified symbol with the engine's fields and waits for
 * the workers; a symbol list with --data-types and --no-wait returns at once; `strata
 * status` reports queues, progress and dead letters.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { COMPANIES_DDL } from "../../src/engine/companies-schema.ts"
import { migrate } from "../../src/services/postgres.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { runWorkers, writeConfigFile } from "../helpers/backfill-fixture.ts"
import { streamFields, waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))
const AT = "2026-01-07T15:00:00Z"

// Each spawned CLI process starts tsx: on a loaded machine that alone takes tens of seconds.
describe("strata backfill and strata status", { timeout: 300_000 }, () => {
  let ns: TestNamespace
  let dir: string
  let configFile: string
  let workers: { stop: () => Promise<void> } | undefined

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-cli-"))
    const overrides = {
      retention: {
        L1: {
          market_data: { hot_days: 2, cold_days: 5, intervals: ["1day"] },
          intraday: { hot_days: { "5min": 1 }, cold_days: 2, intervals: ["5min"] },
          news: { hot_days: 2, cold_days: 5 },
          corporate_actions: { hot_days: 2, cold_days: 10 }
        }
      },
      storage: { lake: join(dir, "lake") },
      backfill: { workers: 2, block_ms: 100 }
    }
    ns = await testNamespace(overrides)
    configFile = writeConfigFile(dir, overrides)
    await migrate(ns.sql, ns.schema, COMPANIES_DDL)
    await ns.sql`INSERT INTO companies (symbol, layer, layer1_qualified, liquidity_score) VALUES
      ('AAPL', 1, true, 0.9), ('MSFT', 1, true, 0.8), ('IBM', 0, false, 0.2)`
  })
  afterEach(async () => {
    await workers?.stop()
    workers = undefined
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  // Asynchronous: the workers run in this process and must keep running meanwhile.
  const strata = (...args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      env: { ...ns.env, STRATA_CONFIG: configFile, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (d: Buffer) => { out += d.toString() })
    child.stderr.on("data", (d: Buffer) => { err += d.toString() })
    child.on("exit", (code) => resolve({ code, out, err }))
  })

  it("issues commands for layer1 symbols and waits until the workers have done them", async () => {
    workers = await runWorkers(ns.config, ns)
    const r = await strata("backfill", "--symbols", "layer1", "--at", AT, "--json", "--timeout", "90")
    expect(r.err).toBe("")
    expect(r.code).toBe(0)
    const result = JSON.parse(r.out) as { commands: number; finished: number; dead: number; written: number; progress: { symbol: string; status: string }[] }
    expect(result).toMatchObject({ commands: 2, finished: 2, dead: 0 })
    expect(result.written).toBeGreaterThan(0)
    expect(result.progress.map((p) => [p.symbol, p.status]).sort()).toEqual([["AAPL", "done"], ["MSFT", "done"]])
    const entries = await streamFields(ns.redis, partitionKeys(ns.prefix, 0).backfill)
    expect(entries.map((e) => Object.keys(e))).toEqual([
      ["id", "symbol", "layer", "from", "data_types", "at", "cause", "priority"],
      ["id", "symbol", "layer", "from", "data_types", "at", "cause", "priority"]
    ])
    expect(entries.map((e) => [e["symbol"], e["layer"], e["data_types"], e["cause"], e["at"]])).toEqual([
      ["AAPL", "1", "market_data,intraday,news,corporate_actions", "manual", String(Date.parse(AT))],
      ["MSFT", "1", "market_data,intraday,news,corporate_actions", "manual", String(Date.parse(AT))]
    ])

    const status = await strata("status", "--json")
    expect(status.code).toBe(0)
    const s = JSON.parse(status.out) as {
      streams: { key: string; length: number; groups: { name: string; pending: number }[] }[]
      dead: { backfill: { length: number } }
      progress: { totals: Record<string, number> }
    }
    const backfill = s.streams.find((x) => x.key === partitionKeys(ns.prefix, 0).backfill)
    expect(backfill?.length).toBe(2)
    expect(backfill?.groups).toMatchObject([{ name: "strata-workers", pending: 0 }])
    expect(s.dead.backfill.length).toBe(0)
    expect(s.progress.totals).toEqual({ done: 2 })
    const text = await strata("status")
    expect(text.out).toContain("queues")
    expect(text.out).toContain("backfill commands  done 2")
  })

  it("issues a list of symbols with chosen data types without waiting, and rejects bad input", async () => {
    const r = await strata("backfill", "--symbols", "aapl, ibm", "--data-types", "news", "--at", AT, "--no-wait", "--json")
    expect(r.code).toBe(0)
    expect((JSON.parse(r.out) as { issued: string[] }).issued).toHaveLength(2)
    const entries = await streamFields(ns.redis, partitionKeys(ns.prefix, 0).backfill)
    expect(entries.map((e) => [e["symbol"], e["layer"], e["data_types"]])).toEqual([["AAPL", "1", "news"], ["IBM", "1", "news"]])
    // Queued until a worker runs; then done.
    const queued = JSON.parse((await strata("status", "--json")).out) as { progress: { totals: Record<string, number> } }
    expect(queued.progress.totals).toEqual({ queued: 2 })
    workers = await runWorkers(ns.config, ns)
    await waitUntil("both done", async () =>
      (await ns.sql`SELECT count(*)::int AS n FROM backfill_progress WHERE status = 'done'`)[0]?.["n"] === 2)

    const bad = await strata("backfill", "--symbols", "AAPL", "--data-types", "weather")
    expect(bad.code).toBe(2)
    expect(bad.err).toContain("unknown data types weather")

    // A layer name past layer3 is a typo, not the ticker LAYER4: nothing is issued.
    for (const spec of ["layer4", "AAPL,Layer0"]) {
      const typo = await strata("backfill", "--symbols", spec, "--no-wait")
      expect(typo.code).toBe(2)
      expect(typo.err).toMatch(/unknown layer set "layer4"|unknown layer set "Layer0"/)
    }
    expect(await ns.redis.xlen(partitionKeys(ns.prefix, 0).backfill)).toBe(2)

    // The same news again: everything owed is held, so the command plans no task.
    const again = await strata("backfill", "--symbols", "AAPL", "--data-types", "news", "--at", AT, "--timeout", "90")
    expect(again.code).toBe(0)
    expect(again.out).toContain("1/1 finished: nothing to fetch")
  }, 300_000)
})
