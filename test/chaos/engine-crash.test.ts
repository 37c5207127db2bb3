/**
 * Crash test (DESIGN §5, invariants 1–3): a real engine process is killed with SIGKILL at
 * random instants while a scanner stream of 40,000 events over 1,000 symbols arrives, and
 * restarted each time. Afterwards the snapshots, the lifecycle stream and the backfill
 * stream (entry IDs aside) equal those of an uninterrupted run over the same stream, every
 * entry was applied exactly once, and `strata reconcile` reports zero divergence.
 * 150 symbols fall quiet after the first 15,000 events: with stale_after 2h of XNYS market time
 * they are demoted by stale events, and a restarted engine (its staleness index rebuilt
 * from the snapshots, passivated actors included) demotes them exactly as the
 * uninterrupted run does.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { runEngine, streamFields, waitUntil } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { benchSymbol, prng, workloadArray } from "../../fixtures/workload.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"
import { exited, startEngineProcess } from "../helpers/processes.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const EVENTS = 40_000
const SYMBOLS = 1_000
const KILLS = 12
const QUIET = new Set(Array.from({ length: 150 }, (_, i) => benchSymbol(i)))
const QUIET_FROM = 15_000
// Small enough that the quiet symbols go stale within the stream's 11 h of event time
// (from 09:30 ET on a Monday: they fall quiet at 13:40 ET, stale by 15:40 ET of trading);
// the others are scored every ~17 min on average. A small actor cache, so that some
// stale actors are passivated when they come due.
const OVERRIDES = "lifecycle:\n  stale_after: 2h\ningest:\n  snapshot_cache: 300\n"

const hashAll = async (ns: TestNamespace, key: string) => ns.redis.hgetall(key)

describe("engine crash safety", () => {
  let crash: TestNamespace
  let ref: TestNamespace
  let crashEnv: NodeJS.ProcessEnv
  const entries = workloadArray({ events: EVENTS, symbols: SYMBOLS, seed: 7, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, lateShare: 0.01, badShare: 0.005 })
    .filter((e, i) => i < QUIET_FROM || !QUIET.has(e.fields[1] as string))
  const total = entries.length

  beforeAll(async () => {
    crash = await testNamespace(ENGINE_ONLY)
    ref = await testNamespace({ ...ENGINE_ONLY, lifecycle: { stale_after: "2h" }, ingest: { snapshot_cache: 300 } })
    // The engine processes read the same override from a file: this test is about the core.
    // A short lease: each restarted engine waits out the killed one's lease before it applies.
    const dir = mkdtempSync(join(tmpdir(), "strata-crash-"))
    writeFileSync(join(dir, "engine-only.yaml"), `backfill:\n  enabled: false\nlease:\n  ttl_ms: 2000\n${OVERRIDES}`)
    crashEnv = { ...crash.env, STRATA_CONFIG: join(dir, "engine-only.yaml") }
  })
  afterAll(async () => {
    await crash?.cleanup()
    await ref?.cleanup()
  })

  it(`survives ${KILLS} kill -9 at random instants with the same outputs as an uninterrupted run`, async () => {
    // The uninterrupted run.
    await xaddAll(ref.redis, ingressKeys(ref.prefix).scores, entries)
    const started = performance.now()
    const refEngine = await runEngine(ref.config)
    const refKeys = partitionKeys(ref.prefix, 0)
    await waitUntil("reference run applied everything", async () => Number(await ref.redis.hget(refKeys.stats, "entries")) === total, 120_000)
    // Reported, never asserted: the machines are shared and noisy.
    console.info(`crash test: uninterrupted run applied ${total} events in ${Math.round(performance.now() - started)} ms`)
    await refEngine.stop()

    // The crashing run: the stream arrives in segments; after each one reaches the engine,
    // the engine is killed at a random instant (mostly mid-segment) and restarted.
    const keys = partitionKeys(crash.prefix, 0)
    const scores = ingressKeys(crash.prefix).scores
    const rand = prng(11)
    const segment = Math.ceil(total / (KILLS + 1))
    const progress = async () => Number((await crash.redis.hget(keys.stats, "entries")) ?? 0)
    let kills = 0
    let midStream = 0 // kills that left entries of the segment unapplied
    let withPending = 0 // kills that left entries read but not acknowledged
    let child = startEngineProcess(crashEnv)
    for (let from = 0; from < total; from += segment) {
      const before = await progress()
      await xaddAll(crash.redis, scores, entries.slice(from, from + segment), 250)
      if (from + segment >= total) break
      await waitUntil("the engine to make progress", async () => (await progress()) > before, 60_000)
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 40)))
      child.kill("SIGKILL")
      await exited(child)
      kills++
      const applied = await progress()
      if (applied < from + segment) midStream++
      if (((await crash.redis.xpending(scores, GROUPS.engine)) as unknown[])[0] !== 0) withPending++
      child = startEngineProcess(crashEnv)
    }
    await waitUntil("the crashing run applied everything", async () => (await progress()) >= total, 120_000)
    await waitUntil("the projector caught up", async () => {
      const groups = (await crash.redis.xinfo("GROUPS", keys.lifecycle)) as unknown[][]
      const g = groups.find((x) => x[1] === GROUPS.projector)
      return g !== undefined && g[g.indexOf("pending") + 1] === 0 && g[g.indexOf("lag") + 1] === 0
    }, 60_000)
    child.kill("SIGTERM")
    await exited(child)

    console.info(`crash test: ${kills} kills, ${midStream} mid-stream, ${withPending} with entries read but unacknowledged`)
    expect(kills).toBeGreaterThanOrEqual(10)
    expect(midStream).toBeGreaterThanOrEqual(kills / 2)
    // Exactly once: the counters are bumped inside the atomic step.
    const stats = await hashAll(crash, keys.stats)
    const refStats = await hashAll(ref, refKeys.stats)
    expect(Number(stats["entries"])).toBe(total)
    for (const f of ["applied", "late", "dead", "transitions", "commands", "stale"]) expect(stats[f]).toBe(refStats[f])
    expect(Number(refStats["transitions"])).toBeGreaterThan(100)
    expect(await crash.redis.get(keys.streamTime)).toBe(await ref.redis.get(refKeys.streamTime))
    // The quiet symbols that had qualified were demoted by stale events, and none is left above L0.
    const refLifecycle = await streamFields(ref.redis, refKeys.lifecycle)
    const staleDemoted = new Set(refLifecycle.filter((f) => f["cause"]?.startsWith("stale:")).map((f) => f["symbol"]))
    console.info(`crash test: ${staleDemoted.size} symbols demoted as stale, ${refStats["stale"]} stale events`)
    expect([...staleDemoted].filter((s) => QUIET.has(s as string)).length).toBeGreaterThan(20)
    const refSnapshots = await hashAll(ref, refKeys.snapshots)
    for (const s of QUIET) expect(JSON.parse(refSnapshots[s] as string).layer, s).toBe(0)
    expect((await crash.redis.xpending(scores, GROUPS.engine) as unknown[])[0]).toBe(0)

    expect(await hashAll(crash, keys.snapshots)).toEqual(await hashAll(ref, refKeys.snapshots))
    expect(await streamFields(crash.redis, keys.lifecycle)).toEqual(await streamFields(ref.redis, refKeys.lifecycle))
    expect(await streamFields(crash.redis, keys.backfill)).toEqual(await streamFields(ref.redis, refKeys.backfill))
    expect(await streamFields(crash.redis, ingressKeys(crash.prefix).scoresDead)).toEqual(await streamFields(ref.redis, ingressKeys(ref.prefix).scoresDead))

    const reconcile = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "reconcile", "--json"], { cwd: ROOT, env: crashEnv, encoding: "utf8" })
    expect(reconcile.status, reconcile.stderr).toBe(0)
    const report = JSON.parse(reconcile.stdout) as { divergent: unknown[]; actors: number; projectorBehind: number }
    expect(report.divergent).toEqual([])
    expect(report.projectorBehind).toBe(0)
    expect(report.actors).toBe(SYMBOLS)
  }, 900_000)
})
