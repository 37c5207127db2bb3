/** `strata record` of a stream that does not exist says so and exits non-zero, writing no file. */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { runStrata } from "../helpers/cli.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

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

  const strata = (...args: string[]) => runStrata(ns.env, args)

  it("refuses a stream that does not exist", async () => {
    const out = join(dir, "x.ndjson")
    const r = await strata("record", "--stream", `${ns.prefix}:nope`, "-o", out, "--no-progress")
    expect(r.code).toBe(1)
    expect(r.err).toContain(`stream ${ns.prefix}:nope does not exist`)
    expect(existsSync(out)).toBe(false)
  }, 120_000)
})
