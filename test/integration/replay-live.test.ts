/**
 * Replay equals the live engine: a scanner stream is applied by the running engine,
 * recorded to a gzip file, then replayed in memory (dry run), through the real engine in a
 * fresh namespace at full speed and at 10x, and through the CLI. Every replay yields
 * byte-identical lifecycle entries, backfill commands and dead letters to what the live
 * engine wrote. Sixteen of the 40 symbols fall quiet partway: their stale demotions
 * are part of what must be equal.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { WhatIfReport } from "../../src/replay/diff.ts"
import { dryRunReplay } from "../../src/replay/dry-run.ts"
import { readRecording } from "../../src/replay/file.ts"
import { chunksOf } from "../../src/replay/chunks.ts"
import { replayInputOf } from "../../src/replay/source.ts"
import { readAllChunks } from "../../streams/stream-read.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { namespaceConfig, namespaceReplay, resetNamespace } from "../../src/app/replay-namespace.ts"
import { recordStream } from "../../src/replay/record.ts"
import { summarise, type ReplayRun } from "../../src/replay/summary.ts"
import { benchSymbol, workloadArray } from "../../fixtures/workload.ts"
import { runEngine, waitUntil } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const run = promisify(execFile)

interface Written {
  readonly lifecycle: string[][]
  readonly backfill: string[][]
  readonly dead: string[][]
}

const outputsOf = (r: ReplayRun | Written) => JSON.stringify([r.lifecycle, r.backfill, r.dead])

describe("replay equals the live engine", () => {
  let ns: TestNamespace
  let dir: string
  let file: string
  let live: Written
  const extraNamespaces: string[] = []
  // Symbols 0-15 fall quiet after the first 800 entries (8 s of the stream's 20 s).
  const quiet = new Set(Array.from({ length: 16 }, (_, i) => benchSymbol(i)))
  const entries = workloadArray({
    events: 2_000, symbols: 40, seed: 11, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 10, lateShare: 0.02, badShare: 0.01
  }).filter((e, i) => i < 800 || !quiet.has(e.fields[1] as string))
  const LIFECYCLE_YAML = "lifecycle:\n  min_dwell: 2s\n  stale_after: 3s\n"

  beforeAll(async () => {
    // A short dwell and staleness so that demotions happen within the stream's 20 s of event time.
    ns = await testNamespace({ ...ENGINE_ONLY, lifecycle: { min_dwell: "2s", stale_after: "3s" } })
    dir = mkdtempSync(join(tmpdir(), "strata-replay-"))
    file = join(dir, "scores.ndjson.gz")
    const engine = await runEngine(ns.config)
    const scores = ingressKeys(ns.prefix).scores
    const keys = partitionKeys(ns.prefix, 0)
    try {
      for (let i = 0; i < entries.length; i += 250) {
        const p = ns.redis.pipeline()
        for (const e of entries.slice(i, i + 250)) p.xadd(scores, e.id, ...e.fields)
        await p.exec()
      }
      await waitUntil("live engine applied every entry", async () => Number(await ns.redis.hget(keys.stats, "entries")) === entries.length)
    } finally {
      await engine.stop()
    }
    const fields = async (key: string) => (await ns.redis.xrange(key, "-", "+")).map(([, f]) => f)
    live = { lifecycle: await fields(keys.lifecycle), backfill: await fields(keys.backfill), dead: await fields(ingressKeys(ns.prefix).scoresDead) }
    const recorded = await recordStream(ns.redis, { stream: scores, out: file })
    expect(recorded.entries).toBe(entries.length)
  })

  afterAll(async () => {
    for (const name of extraNamespaces) await resetNamespace(ns.redis, ns.databaseUrl, namespaceConfig(ns.config, name))
    await ns.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it("the recording keeps every entry ID and field", async () => {
    const back = []
    for await (const e of readRecording(file)) back.push(e)
    expect(back).toEqual(entries)
  })

  it("the live run exercised promotions, demotions, commands, late events and dead letters", () => {
    const types = new Set(live.lifecycle.map((f) => f[1]))
    expect(types).toEqual(new Set(["SymbolQualified", "SymbolPromoted", "SymbolDemoted", "SymbolDisqualified"]))
    expect(live.backfill.length).toBeGreaterThan(10)
    expect(live.dead.length).toBeGreaterThan(0)
    // Quiet symbols that had qualified are demoted as stale (field 11 is the cause, 3 the symbol).
    const stale = live.lifecycle.filter((f) => f[11]?.startsWith("stale:"))
    expect(stale.length).toBeGreaterThan(3)
    expect(stale.every((f) => quiet.has(f[3] as string) && f[1] === "SymbolDisqualified")).toBe(true)
  })

  it("a dry run of the recording writes byte-identical outputs", async () => {
    const replayed = await dryRunReplay(readRecording(file), ns.config)
    expect(outputsOf(replayed)).toBe(outputsOf(live))
    // Small batches: stale demotions come due batches after the quiet symbols' last scores.
    const small = await dryRunReplay(readRecording(file), ns.config, { batchSize: 50 })
    expect(outputsOf(small)).toBe(outputsOf(live))
  })

  it("a dry run of the live stream, read in its XRANGE chunks, writes byte-identical outputs", async () => {
    const scores = ingressKeys(ns.prefix).scores
    const replayed = await dryRunReplay(replayInputOf({ kind: "stream", redis: ns.redis, key: scores }), ns.config)
    expect(outputsOf(replayed)).toBe(outputsOf(live))
    // Small reads: every chunk holds 1 to 7 entries, and together they are the range, in order.
    const chunks: StreamEntry[][] = []
    for await (const c of readAllChunks(ns.redis, scores, entries[3]!.id, entries[1_000]!.id, 7)) chunks.push(c)
    expect(chunks.every((c) => c.length >= 1 && c.length <= 7)).toBe(true)
    expect(chunks.flat()).toEqual(entries.slice(3, 1_001))
    const some = new Set([benchSymbol(20), benchSymbol(21)])
    const filtered: StreamEntry[] = []
    for await (const c of chunksOf(replayInputOf({ kind: "stream", redis: ns.redis, key: scores }, some), 100)) filtered.push(...c)
    expect(filtered).toEqual(entries.filter((e) => some.has(e.fields[1] as string)))
  })

  it.each([["max"], ["10x"]])("the real engine in a fresh namespace at %s writes byte-identical outputs", async (speed) => {
    const name = `r${Math.random().toString(36).slice(2, 10)}`
    extraNamespaces.push(name)
    const replayed = await namespaceReplay(readRecording(file), namespaceConfig(ns.config, name), {
      speed: speed === "max" ? { kind: "max" } : { kind: "factor", factor: 10 }
    })
    expect(outputsOf(replayed)).toBe(outputsOf(live))
    expect(replayed.counts.events).toBe(entries.length)
    // The live namespace is untouched by the replay.
    expect(await ns.redis.xlen(partitionKeys(ns.prefix, 0).lifecycle)).toBe(live.lifecycle.length)
  })

  it("the CLI prints the same summary as JSON, twice identically, and a what-if diff", async () => {
    const a = join(dir, "a.yaml")
    const b = join(dir, "b.yaml")
    writeFileSync(a, LIFECYCLE_YAML)
    writeFileSync(b, `${LIFECYCLE_YAML}  confirmations: 3\n`)
    const cli = (...args: string[]) =>
      run("npx", ["tsx", "src/cli/main.ts", "replay", file, "--config", a, "--json", ...args], { env: ns.env, cwd: process.cwd() })
    const [first, second] = [await cli("--dry-run"), await cli("--speed", "max")]
    expect(first.stdout).toBe(second.stdout)
    const printed = JSON.parse(first.stdout) as { summary: unknown }
    const expected = summarise(await dryRunReplay(readRecording(file), ns.config), ns.config)
    expect(printed.summary).toEqual(expected)
    expect(expected.transitionsTotal).toBe(live.lifecycle.length)
    const diff = JSON.parse((await cli("--diff", b)).stdout) as WhatIfReport
    expect(diff.a.summary).toEqual(expected)
    expect(diff.b.summary.transitionsTotal - diff.a.summary.transitionsTotal).toBe(diff.gained.length - diff.lost.length)
    expect(diff.lost.length).toBeGreaterThan(0)
  })
})
