/**
 * Dry-run replay is deterministic: the same entries and config give byte-identical
 * lifecycle entries, backfill commands and dead letters whatever the speed, the batch
 * size, the input's shape (an array, entries one by one, chunks of any cut), the run or the step (`ingest.step`: pure or xstate); the what-if diff of a config with itself is empty, and against another
 * config it accounts for every difference.
 */
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { whatIf } from "../../src/replay/diff.ts"
import { dryRunReplay } from "../../src/replay/dry-run.ts"
import type { Clock } from "../../src/replay/pacing.ts"
import { summarise, type ReplayRun } from "../../src/replay/summary.ts"
import { workloadArray } from "../../fixtures/workload.ts"

const config = loadConfig({ env: {} })
const entries = workloadArray({
  events: 4_000, symbols: 60, seed: 7, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 20_000, lateShare: 0.02, badShare: 0.01
})

const instantClock = (): Clock => {
  let now = 0
  return { now: () => now, sleep: async (ms) => { now += ms } }
}

async function* oneByOne() {
  for (const e of entries) yield e
}

/** The entries in chunks of 1, 2, … 97, 1, 2, … entries: cuts that never meet the batch's. */
async function* unevenChunks() {
  for (let i = 0, size = 1; i < entries.length; i += size, size = size % 97 + 1) yield entries.slice(i, i + size)
}

const bytes = (run: ReplayRun): string =>
  JSON.stringify([run.lifecycle, run.backfill, run.dead, [...run.finalLayers], run.counts])

describe.each(["pure", "xstate"] as const)("dry-run determinism, ingest.step %s", (step) => {
  const config = loadConfig({ env: {}, overrides: { ingest: { step } } })
  it("gives byte-identical outputs across runs, speeds and batch sizes", async () => {
    const reference = await dryRunReplay(entries, config)
    expect(reference.lifecycle.length).toBeGreaterThan(20)
    expect(reference.backfill.length).toBeGreaterThan(10)
    expect(reference.counts.late).toBeGreaterThan(0)
    expect(reference.counts.dead).toBeGreaterThan(0)
    const variants = await Promise.all([
      dryRunReplay(entries, config),
      dryRunReplay(entries, config, { speed: { kind: "factor", factor: 1 }, clock: instantClock() }),
      dryRunReplay(entries, config, { speed: { kind: "factor", factor: 10 }, clock: instantClock() }),
      dryRunReplay(entries, config, { batchSize: 1 }),
      dryRunReplay(entries, config, { batchSize: 37 }),
      dryRunReplay(oneByOne(), config),
      dryRunReplay({ chunks: unevenChunks() }, config, { batchSize: 100 })
    ])
    for (const v of variants) expect(bytes(v)).toBe(bytes(reference))
  })

  it("gives the outputs of the other step, byte for byte", async () => {
    const other = loadConfig({ env: {}, overrides: { ingest: { step: step === "pure" ? "xstate" : "pure" } } })
    const [ours, theirs] = await Promise.all([dryRunReplay(entries, config, { batchSize: 53 }), dryRunReplay(entries, other)])
    expect(bytes(ours)).toBe(bytes(theirs))
  })

  it("summarises the outputs it returns", async () => {
    const run = await dryRunReplay(entries, config)
    const s = summarise(run, config)
    expect(s.events).toBe(entries.length)
    expect(s.applied + s.late + s.dead).toBe(s.events)
    expect(Object.values(s.transitions).reduce((a, b) => a + b, 0)).toBe(run.lifecycle.length)
    expect(Object.values(s.commands.byLayer).reduce((a, b) => a + b, 0)).toBe(run.backfill.length)
    expect(Object.values(s.finalLayers).reduce((a, b) => a + b, 0)).toBe(s.symbols)
    expect(s.estimatedProviderRequests).toBeGreaterThan(s.commands.total)
  })
})

describe("what-if diff", () => {
  it("is empty for a config against itself", async () => {
    const a = await dryRunReplay(entries, config)
    const b = await dryRunReplay(entries, config)
    const r = whatIf({ label: "A", run: a, config }, { label: "B", run: b, config })
    expect([r.layerChanges, r.gained, r.lost]).toEqual([[], [], []])
  })

  it("accounts for every difference under a stricter config", async () => {
    const strict = loadConfig({ env: {}, overrides: { lifecycle: { confirmations: 4, layers: { L1: { score: "liquidity", promote_at: 0.7, demote_below: 0.5 } } } } })
    const a = await dryRunReplay(entries, config)
    const b = await dryRunReplay(entries, strict)
    const r = whatIf({ label: "A", run: a, config }, { label: "B", run: b, config: strict })
    expect(r.lost.length).toBeGreaterThan(0)
    expect(b.lifecycle.length - a.lifecycle.length).toBe(r.gained.length - r.lost.length)
    for (const c of r.layerChanges) {
      expect(a.finalLayers.get(c.symbol) ?? 0).toBe(c.a)
      expect(b.finalLayers.get(c.symbol) ?? 0).toBe(c.b)
    }
    expect(r.b.summary.transitionsTotal).toBeLessThan(r.a.summary.transitionsTotal)
  })
})
