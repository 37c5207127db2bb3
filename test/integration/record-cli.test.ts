/** `strata record` of a stream that does not exist says so and exits non-zero, writing no file. */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))

describe("strata record", () => {
  let ns: TestNamespace
  let dir: string
  beforeEach(async () => {
    ns = await testNamespace()
    dir = mkdtempSync(join(tmpdir(), "strata-record-"))
  })
  afterEach(async () => {
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  const strata = (...args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...ns.env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d: Buffer) => { out += d.toString() })
    child.stderr.on("data", (d: Buffer) => { err += d.toString() })
    child.on("exit", (code) => resolve({ code, out, err }))
  })

  it("refuses a stream that does not exist", async () => {
    const out = join(dir, "x.ndjson")
    const r = await strata("record", "--stream", `${ns.prefix}:nope`, "-o", out, "--no-progress")
    expect(r.code).toBe(1)
    expect(r.err).toContain(`stream ${ns.prefix}:nope does not exist`)
    expect(existsSync(out)).toBe(false)
  }, 120_000)
})
