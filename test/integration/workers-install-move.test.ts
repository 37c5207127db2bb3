/**
 * A standalone `strata workers` is no member of the install, so `strata partitions
 * migrate` cannot see it: a workers process left running over a move notices the install
 * record's new count on its own (every lease.ttl_ms) and exits with the configuration
 * error that names the fix, rather than go on reading partition 0's backfill stream alone.
 */
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readInstallRecord } from "../../streams/install-record.ts"
import { MAIN, runStrata } from "../helpers/cli.ts"
import { waitUntil } from "../helpers/engine.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const TO = 4
let ns: TestNamespace
let file: string

beforeAll(async () => {
  ns = await testNamespace({ backfill: { enabled: true } })
  file = join(ns.config.data_dir, "strata.yaml")
  writeFileSync(file, "partitions: 1\nlease:\n  ttl_ms: 2000\n")
}, 60_000)

afterAll(async () => {
  await ns?.cleanup()
})

describe("strata workers over a move of the install", () => {
  it("exits with the record's refusal once the install is moved to another count", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "workers", "--workers", "1", "--config", file], {
      env: { ...ns.env, LOG_LEVEL: "info", NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"]
    })
    let err = ""
    child.stderr.on("data", (d: Buffer) => { err += d.toString() })
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    try {
      await waitUntil("the workers run", () => err.includes('"msg":"backfill workers running"'), 90_000)
        .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${err.slice(-2000)}`) })
      expect((await readInstallRecord(ns.redis, ns.prefix)).partitions).toBe(1)
      const moved = await runStrata(ns.env, ["partitions", "migrate", "--to", String(TO), "--config", file])
      expect(moved.code, moved.err).toBe(0)
      expect((await readInstallRecord(ns.redis, ns.prefix)).partitions).toBe(TO)
      await waitUntil("the workers exit", () => child.exitCode !== null, 60_000)
        .catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${err.slice(-2000)}`) })
      expect(await exited).toBe(2)
      expect(err).toContain(`strata workers: invalid configuration:\n  - this install has ${TO} partitions (recorded, ${ns.prefix}:install) but partitions is 1: set partitions: ${TO}`)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL")
    }
  }, 180_000)
})
