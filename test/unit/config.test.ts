/** Configuration: defaults decode, user files merge over them, errors name path, file and line. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { ConfigError, loadConfig } from "../../config/load.ts"

const write = (text: string): string => {
  const file = join(mkdtempSync(join(tmpdir(), "strata-config-")), "strata.yaml")
  writeFileSync(file, text)
  return file
}

const problems = (f: () => unknown): readonly string[] => {
  try {
    f()
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  throw new Error("expected a ConfigError")
}

describe("config", () => {
  it("decodes the embedded defaults (DESIGN §4 rules and the seed's retention)", () => {
    const c = loadConfig({ env: {} })
    expect(c.lifecycle.layers.L3).toEqual({ score: "activity", promote_at: 0.7, demote_below: 0.6 })
    expect(c.lifecycle.confirmations).toBe(2)
    expect(c.lifecycle.min_dwell).toBe("15m")
    expect(c.retention.L3.market_data).toEqual({ hot_days: 90, cold_days: 1825, intervals: ["1day", "1hour", "5min", "1min"] })
  })

  it("merges a user file over the defaults, key by key", () => {
    const c = loadConfig({ file: write("lifecycle:\n  confirmations: 3\n"), env: {} })
    expect(c.lifecycle.confirmations).toBe(3)
    expect(c.lifecycle.layers.L1.score).toBe("liquidity")
  })

  it("lets REDIS_URL, DATABASE_URL and STRATA_PREFIX override the files", () => {
    const c = loadConfig({ env: { REDIS_URL: "redis://10.0.0.1:7000", DATABASE_URL: "postgres://x@h/db", STRATA_PREFIX: "what-if" } })
    expect(c.redis).toEqual({ url: "redis://10.0.0.1:7000", prefix: "what-if" })
    expect(c.postgres.url).toBe("postgres://x@h/db")
  })

  it("names the bad field, its file and line, for every problem at once", () => {
    const file = write("lifecycle:\n  confirmations: 0\n  layers:\n    L1: { score: liquidity, promote_at: 0.4, demote_below: 0.5 }\n  min_dwell: soon\ningest:\n  batchsize: 3\n")
    const p = problems(() => loadConfig({ file, env: {} }))
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^lifecycle\\.confirmations \\(${file}:2:\\d+\\): .*greater than or equal to 1`)),
      expect.stringMatching(new RegExp(`^lifecycle\\.layers\\.L1 \\(${file}:4:\\d+\\): demote_below \\(0\\.5\\) must not exceed promote_at \\(0\\.4\\)`)),
      expect.stringMatching(new RegExp(`^lifecycle\\.min_dwell \\(${file}:5:\\d+\\): expected a duration`)),
      expect.stringMatching(new RegExp(`^ingest\\.batchsize \\(${file}:7:\\d+\\)`))
    ]))
    expect(p).toHaveLength(4)
  })

  it("counts stale_after in XNYS market time by default, and refuses a calendar it does not have", () => {
    expect(loadConfig({ env: {} }).lifecycle).toMatchObject({ stale_after: "5d", calendar: "XNYS" })
    expect(loadConfig({ env: {}, overrides: { lifecycle: { calendar: "none" } } }).lifecycle.calendar).toBe("none")
    const file = write("lifecycle:\n  calendar: XLON\n")
    expect(problems(() => loadConfig({ file, env: {} }))).toEqual([expect.stringMatching(new RegExp(`^lifecycle\\.calendar \\(${file}:2:\\d+\\)`))])
  })

  it("reports YAML syntax errors with their line", () => {
    const file = write("lifecycle:\n  confirmations: [1\n")
    expect(problems(() => loadConfig({ file, env: {} }))[0]).toMatch(new RegExp(`^${file}:\\d+:\\d+: YAML`))
  })

  it("reports an unreadable file by name", () => {
    expect(problems(() => loadConfig({ file: "/nonexistent/strata.yaml", env: {} }))[0]).toMatch(/cannot read config file \/nonexistent\/strata.yaml/)
  })
})
