/**
 * Handoff times of a partitioned install: engines on one namespace while scores flow into
 * the ingress stream at a fixed rate; one engine, chosen by a seeded draw at a seeded
 * instant, is killed with SIGKILL, and the time from the kill until every partition it
 * held is held again by a live engine and has applied an atomic step since (its step
 * marker moved) is recorded; the engine is started again and the install left to settle
 * before the next kill (the last victim stays down while two remain). Last, one engine left is
 * stopped with SIGTERM (it leaves the members at once) and the time until its partitions
 * are held by the others is recorded the same way.
 * Reads the leases from Redis (partitioned-install.ts); asserts nothing about the times.
 */
import type { Redis } from "ioredis"
import { workload, prng } from "../../fixtures/workload.ts"
import { ingressKeys } from "../../streams/keys.ts"
import type { BenchNamespace } from "./bench-namespace.ts"
import type { Child } from "./children.ts"
import { heldBy, killHard, partitionView, pollUntil, settleInstall, startEngine, type PartitionView } from "./partitioned-install.ts"

export interface HandoffPlan {
  readonly engines: number
  readonly kills: number
  /** Scores per second written to the ingress stream throughout. */
  readonly rate: number
  readonly seed: number
}

export interface Handoff {
  /** Partitions the stopped engine held. */
  readonly partitions: number
  /** Until every one of them was held by another live engine. */
  readonly ownedMs: number
  /** Until every one of them was held by another live engine and had applied a step under it. */
  readonly applyingMs: number
}

export interface HandoffRun {
  readonly kills: readonly Handoff[]
  readonly leave: Handoff
}

/** Scores at `rate` per second on the ingress stream (auto IDs), from a seeded workload, until stopped. */
const flowScores = (redis: Redis, stream: string, rate: number, seed: number) => {
  const entries = workload({ events: Number.MAX_SAFE_INTEGER, symbols: 1_000, seed, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 10 })
  let running = true
  let sent = 0
  const started = performance.now()
  const done = (async () => {
    while (running) {
      // A stalled loop catches up by at most half a second's worth at once.
      const due = Math.min(Math.ceil(rate / 2), Math.floor(((performance.now() - started) / 1000) * rate) - sent)
      if (due > 0) {
        const p = redis.pipeline()
        for (let i = 0; i < due; i++) {
          const next = entries.next()
          if (next.done) break
          p.xadd(stream, "*", ...next.value.fields)
        }
        const replies = await p.exec()
        const err = replies?.find(([e]) => e)?.[0]
        if (err) throw err
        sent += due
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  return { stop: async () => { running = false; await done }, sent: () => sent }
}

/** "pid: n partitions" per engine, and how many nobody holds. */
const shares = (v: PartitionView, engines: readonly Child[]): string =>
  [...engines.map((e) => `${e.pid}: ${heldBy(v, e.pid).length}`), `nobody: ${v.holders.filter((h) => h === undefined).length}`].join(", ")

const exitOf = (child: Child): Promise<void> =>
  new Promise((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) resolve()
    else child.process.once("exit", () => resolve())
  })

export const measureHandoffs = async (
  ns: BenchNamespace, tmpDir: string, plan: HandoffPlan, log: (m: string) => void
): Promise<HandoffRun> => {
  const { partitions: count, lease } = ns.config
  const tickMs = Math.ceil(lease.ttl_ms / 3)
  const rand = prng(plan.seed)
  const view = () => partitionView(ns.redis, ns.prefix, count)
  const engines: Child[] = []
  const live = () => new Set(engines.map((e) => e.pid))

  const settle = async (what: string) => {
    await settleInstall(ns.redis, ns.prefix, count, live(), tickMs, what)
    log(`settled: ${shares(await view(), engines)}`)
  }

  /**
   * From `at` until the partitions `held` are each held by a live engine other than `gone`,
   * and stepped under it: its step marker moved past the last value seen while `gone` (or
   * nobody) held it. A stopping engine steps until it lets a partition go; a killed one not
   * at all.
   */
  const handoff = async (at: number, held: readonly number[], gone: number): Promise<Handoff> => {
    const owned = new Map<number, number>()
    const applying = new Map<number, number>()
    const before = new Map<number, number>()
    await pollUntil(`the ${held.length} partitions of pid ${gone} held again`, async () => {
      const v = await view()
      const now = performance.now()
      const pids = live()
      for (const p of held) {
        const h = v.holders[p]
        const step = v.steps[p] ?? 0
        if (h === undefined || h === gone || !pids.has(h)) {
          before.set(p, step)
          continue
        }
        if (!owned.has(p)) owned.set(p, now)
        if (!applying.has(p) && step > (before.get(p) ?? step)) applying.set(p, now)
      }
      return applying.size === held.length
    }, 300_000, 20)
    return {
      partitions: held.length,
      ownedMs: Math.max(...owned.values()) - at,
      applyingMs: Math.max(...applying.values()) - at
    }
  }

  const flow = flowScores(ns.redis, ingressKeys(ns.prefix).scores, plan.rate, plan.seed)
  try {
    engines.push(...(await Promise.all(Array.from({ length: plan.engines }, (_, i) => startEngine(ns, tmpDir, `e${i}`)))))
    await settle("the engines to share every partition")
    const kills: Handoff[] = []
    for (let k = 0; k < plan.kills; k++) {
      // A seeded instant anywhere within a lease TTL, so kills fall at every phase of the renewals.
      // (The draws are in a fixed order; which engine they pick depends on who holds what.)
      await new Promise((r) => setTimeout(r, Math.floor(rand() * lease.ttl_ms)))
      const before = await view()
      log(`holders before kill ${k + 1}: ${shares(before, engines)}`)
      // The victim is drawn among the engines that hold partitions now.
      const holding = engines.filter((e) => heldBy(before, e.pid).length > 0)
      const victim = holding[Math.floor(rand() * holding.length)] as Child
      const i = engines.indexOf(victim)
      const held = heldBy(before, victim.pid)
      await killHard(victim)
      const at = performance.now()
      engines.splice(i, 1)
      const h = await handoff(at, held, victim.pid)
      log(`kill -9 of pid ${victim.pid} (${h.partitions} partitions): held again after ${Math.round(h.ownedMs)} ms, applying after ${Math.round(h.applyingMs)} ms`)
      kills.push(h)
      // The last victim stays down while two engines remain: the SIGTERM below is then one of theirs.
      if (k === plan.kills - 1 && engines.length >= 2) continue
      engines.splice(i, 0, await startEngine(ns, tmpDir, `e${i}-r${k}`))
      await settle("the restarted engine to take its share")
    }
    await new Promise((r) => setTimeout(r, Math.floor(rand() * lease.ttl_ms)))
    const before = await view()
    log(`holders before SIGTERM: ${shares(before, engines)}`)
    const holding = engines.filter((e) => heldBy(before, e.pid).length > 0)
    const leaver = holding[Math.floor(rand() * holding.length)] as Child
    const i = engines.indexOf(leaver)
    const held = heldBy(before, leaver.pid)
    const exited = exitOf(leaver)
    process.kill(leaver.pid, "SIGTERM")
    const at = performance.now()
    engines.splice(i, 1)
    const leave = await handoff(at, held, leaver.pid)
    await exited
    log(`SIGTERM of pid ${leaver.pid} (${leave.partitions} partitions): held by the others after ${Math.round(leave.ownedMs)} ms, applying after ${Math.round(leave.applyingMs)} ms; ${flow.sent()} scores sent`)
    return { kills, leave }
  } finally {
    await flow.stop()
    await Promise.all(engines.map((e) => e.stop()))
  }
}

