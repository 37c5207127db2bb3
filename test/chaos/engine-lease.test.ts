/**
 * One engine per install, proven with real engine processes: a second engine is refused
 * at start with a clear message and a non-zero exit code; SIGTERM gives the lease up; a
 * holder killed with SIGKILL is taken over by a restarted engine once its lease has run
 * out (however long it still had); a holder paused (SIGSTOP) past its lease and resumed after another engine took over
 * applies nothing — snapshots, streams, counters and the pending list stay as they were —
 * and waits, taking the lease again only once it is free.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { readStepMarker } from "../../streams/atomic-step.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { workloadArray } from "../../fixtures/workload.ts"
import { waitUntil } from "../helpers/engine.ts"
import { brokenChains } from "../helpers/lifecycle-chains.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { xaddAll } from "../helpers/scanner-stream.ts"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

interface EngineProcess {
  readonly child: ChildProcess
  /** stdout (the JSON log) and stderr, as received. */
  readonly output: () => string
  readonly exit: Promise<number | null>
}

const startEngine = (ns: TestNamespace, ttlMs: number): EngineProcess => {
  const dir = mkdtempSync(join(tmpdir(), "strata-lease-"))
  writeFileSync(join(dir, "engine.yaml"), `backfill:\n  enabled: false\nlease:\n  ttl_ms: ${ttlMs}\ningest:\n  block_ms: 100\n`)
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "engine"], {
    cwd: ROOT, env: { ...ns.env, STRATA_CONFIG: join(dir, "engine.yaml"), LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"]
  })
  let text = ""
  child.stdout?.on("data", (d: Buffer) => { text += d.toString() })
  child.stderr?.on("data", (d: Buffer) => { text += d.toString() })
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return { child, output: () => text, exit }
}

const running: EngineProcess[] = []
const engine = (ns: TestNamespace, ttlMs: number): EngineProcess => {
  const e = startEngine(ns, ttlMs)
  running.push(e)
  return e
}

const entriesFor = (seed: number) =>
  workloadArray({ events: 6_000, symbols: 200, seed, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 1_000, lateShare: 0.01, badShare: 0.01 })

describe("engine lease", () => {
  const namespaces: TestNamespace[] = []
  const namespace = async () => {
    const ns = await testNamespace(ENGINE_ONLY)
    namespaces.push(ns)
    return ns
  }
  afterEach(async () => {
    for (const e of running.splice(0)) {
      if (e.child.exitCode === null && e.child.signalCode === null) {
        e.child.kill("SIGCONT")
        e.child.kill("SIGKILL")
        await e.exit
      }
    }
    for (const ns of namespaces.splice(0)) await ns.cleanup()
  })

  const applied = (ns: TestNamespace) => async () => Number((await ns.redis.hget(partitionKeys(ns.prefix, 0).stats, "entries")) ?? 0)
  const holder = (ns: TestNamespace) => ns.redis.hmget(partitionKeys(ns.prefix, 0).lease, "owner", "epoch")

  it("refuses a second engine with a clear message and a non-zero exit code; SIGTERM gives the lease up", async () => {
    const ns = await namespace()
    const keys = partitionKeys(ns.prefix, 0)
    const entries = entriesFor(1)
    // A lease the first engine keeps however loaded the machine is; the second waits it out once.
    const first = engine(ns, 10_000)
    await waitUntil("the first engine to hold the lease", async () => (await holder(ns))[0] !== null, 120_000)
    await xaddAll(ns.redis, ingressKeys(ns.prefix).scores, entries)
    await waitUntil("the first engine applied everything", async () => (await applied(ns)()) === entries.length, 120_000)
    const lease = await holder(ns)
    const marker = await readStepMarker(ns.redis, keys)

    const second = engine(ns, 2_000)
    const code = await second.exit
    expect(code).not.toBe(0)
    expect(second.output()).toContain(`another engine holds the lease of partition 0 under prefix "${ns.prefix}"`)
    expect(second.output()).toContain("only one engine may run against one install")
    // The first engine is untouched and still the holder.
    expect(await holder(ns)).toEqual(lease)
    expect(await readStepMarker(ns.redis, keys)).toBe(marker)
    expect(first.child.exitCode).toBeNull()

    first.child.kill("SIGTERM")
    expect(await first.exit).toBe(0)
    expect(await ns.redis.exists(keys.lease)).toBe(0)
  }, 360_000)

  it("after kill -9 of the holder, a restarted engine takes the lease over once it has run out", async () => {
    const ns = await namespace()
    const scores = ingressKeys(ns.prefix).scores
    const entries = entriesFor(2)
    const half = entries.length / 2
    const first = engine(ns, 2_000)
    await waitUntil("the first engine to hold the lease", async () => (await holder(ns))[0] !== null, 120_000)
    await xaddAll(ns.redis, scores, entries.slice(0, half))
    await waitUntil("the first half applied", async () => (await applied(ns)()) === half, 120_000)
    const [deadOwner, deadEpoch] = await holder(ns)
    first.child.kill("SIGKILL")
    await first.exit
    // However slowly the next process starts, it must meet the dead holder's lease: keep
    // that lease alive until the restarted engine is seen waiting, then let it run out.
    // On a loaded machine its 2 s may have run out already while the kill was reaped, so
    // the dead holder's lease is written back as it was (nobody else could take it meanwhile).
    const keys = partitionKeys(ns.prefix, 0)
    expect(await ns.redis.get(keys.leaseEpoch)).toBe(deadEpoch)
    await ns.redis.multi().hset(keys.lease, "owner", deadOwner!, "epoch", deadEpoch!).pexpire(keys.lease, 120_000).exec()
    const second = engine(ns, 2_000)
    await waitUntil("the restarted engine to wait for the lease", () => second.output().includes("waiting until its lease ends"), 120_000)
    expect(await holder(ns)).toEqual([deadOwner, deadEpoch])
    await ns.redis.pexpire(keys.lease, 1_000)
    await xaddAll(ns.redis, scores, entries.slice(half))
    await waitUntil("the restarted engine applied the rest", async () => (await applied(ns)()) === entries.length, 120_000)
    const [owner, epoch] = await holder(ns)
    expect(owner).not.toBe(deadOwner)
    expect(Number(epoch)).toBeGreaterThan(Number(deadEpoch))
    expect(second.output()).toContain("took over the partition lease of an engine that stopped renewing it")
    expect(await brokenChains(ns.redis, keys)).toEqual([])
  }, 360_000)

  // The paused engine may be stopped inside a projector transaction; the next engine's
  // start must not wait for it (migrate.test.ts holds that part alone).
  it("a holder paused past its lease applies nothing once resumed, and waits for the lease", { timeout: 480_000 }, async () => {
    const ns = await namespace()
    const keys = partitionKeys(ns.prefix, 0)
    const scores = ingressKeys(ns.prefix).scores
    const entries = entriesFor(3)
    const quarter = entries.length / 4
    const paused = engine(ns, 2_000)
    await waitUntil("the first engine to hold the lease", async () => (await holder(ns))[0] !== null, 120_000)
    const [pausedOwner] = await holder(ns)
    await xaddAll(ns.redis, scores, entries.slice(0, quarter))
    await waitUntil("the first quarter applied", async () => (await applied(ns)()) === quarter, 120_000)

    paused.child.kill("SIGSTOP")
    await waitUntil("the paused engine's lease to run out", async () => (await ns.redis.exists(keys.lease)) === 0, 120_000)
    // The new holder's lease is long, so it outlives its own pause below.
    const next = engine(ns, 120_000)
    await waitUntil("the next engine to hold the lease", async () => {
      const [owner] = await holder(ns)
      return owner !== null && owner !== pausedOwner
    }, 120_000)
    await xaddAll(ns.redis, scores, entries.slice(quarter, 2 * quarter))
    await waitUntil("the second quarter applied", async () => (await applied(ns)()) === 2 * quarter, 120_000)

    // Only the resumed engine runs now, with new entries there to read.
    next.child.kill("SIGSTOP")
    const state = async () => ({
      snapshots: await ns.redis.hgetall(keys.snapshots),
      lifecycle: await ns.redis.xlen(keys.lifecycle),
      backfill: await ns.redis.xlen(keys.backfill),
      dead: await ns.redis.xlen(ingressKeys(ns.prefix).scoresDead),
      stats: await ns.redis.hgetall(keys.stats),
      marker: await readStepMarker(ns.redis, keys),
      lease: await holder(ns),
      pending: ((await ns.redis.xpending(scores, GROUPS.engine, "-", "+", 10_000)) as unknown[][]).map((e) => [e[0], e[1], e[3]]),
      group: ((await ns.redis.xinfo("GROUPS", scores)) as unknown[][]).map((g) => g.filter((_, i) => g[i - 1] !== "lag"))
    })
    await xaddAll(ns.redis, scores, entries.slice(2 * quarter, 3 * quarter))
    const before = await state()
    paused.child.kill("SIGCONT")
    // Whichever it tries first after the pause, a renewal (refused) or a step it had in hand
    // (fenced), it says it lost the lease.
    await waitUntil("the resumed engine to say it lost the lease",
      () => paused.output().includes("lease lost") || paused.output().includes("step FENCED"), 120_000)
    expect(await state()).toEqual(before)
    expect(paused.child.exitCode).toBeNull()

    // The holder resumes and applies the third quarter; once it leaves, the waiting engine takes over.
    next.child.kill("SIGCONT")
    await waitUntil("the third quarter applied", async () => (await applied(ns)()) === 3 * quarter, 120_000)
    next.child.kill("SIGTERM")
    expect(await next.exit).toBe(0)
    await waitUntil("the waiting engine to take the lease again", async () => (await holder(ns))[0] === pausedOwner, 120_000)
    await xaddAll(ns.redis, scores, entries.slice(3 * quarter))
    await waitUntil("everything applied", async () => (await applied(ns)()) === entries.length, 120_000)
    expect(paused.output()).toContain("lease taken again")
    expect(((await ns.redis.xpending(scores, GROUPS.engine)) as unknown[])[0]).toBe(0)
    expect(await brokenChains(ns.redis, keys)).toEqual([])
  })
})
