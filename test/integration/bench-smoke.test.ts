/**
 * Every bench scenario in bench/scenarios runs at its tiny size against the test servers
 * and returns well-formed figures. No timing is asserted: tiny sizes measure nothing; the
 * test proves the scenarios still run as the code around them changes, including
 * scenarios added later.
 */
import { describe, expect, it, inject } from "vitest"
import { loadScenarios, markdownTable, runScenario } from "../../bench/lib/runner.ts"

const files = await loadScenarios()
const cases = files.flatMap(({ file, scenarios }) => scenarios.map((s) => [`${file}: ${s.name}`, file, s] as const))

describe("bench scenarios at tiny size", () => {
  it("finds the scenario files", () => {
    expect(cases.length).toBeGreaterThan(0)
  })

  it.each(cases)("%s", async (_label, file, s) => {
    const outcome = await runScenario(file, s, { redisUrl: inject("redisUrl"), databaseUrl: inject("databaseUrl"), size: "tiny" })
    expect(outcome.error).toBeUndefined()
    expect(outcome.figures.length).toBeGreaterThan(0)
    for (const f of outcome.figures) {
      expect(typeof f.metric).toBe("string")
      expect(Number.isFinite(f.value)).toBe(true)
      if (f.baseline) expect(Number.isFinite(f.baseline.value)).toBe(true)
    }
    expect(markdownTable(outcome.figures).split("\n").length).toBe(outcome.figures.length + 3)
    // Room for the scenarios that start several engine processes one after another (the
    // partitions scenario starts about seven): each start takes tens of seconds on a
    // loaded machine.
  }, 420_000)
})
