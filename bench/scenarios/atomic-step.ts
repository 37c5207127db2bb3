/**
 * Atomic step: the Redis CPU one event costs in the step's Lua script (INFO commandstats,
 * EVALSHA µs over events applied; the commands the script runs, XPENDING, HSET, XADD,
 * XACK, GET/SET of the marks, counted apart), and the bytes the step's command takes on the
 * wire per event (RESP: EVALSHA, its SHA, its keys and arguments). The same batches of the
 * throughput workload (10k symbols, batches of ingest.batch_size, compact snapshots),
 * computed once with processBatch, are applied to a fresh namespace (lease and marker fence
 * included) through the engine's applyBatch (applied-through marks, shaped output rows)
 * and through the step it replaced (streams/atomic-step-pending.ts: a pending-list check,
 * plain rows), alternating, so that the difference is a same-run ratio. Two probes run in
 * the same rounds: the marks with plain rows (the share of shaped rows), and the marks with
 * no snapshot sent (the snapshots' full cost: HSET and the script's handling of them).
 * STRATA_BENCH_STEP_ROUNDS (default 2) rounds, the order turning each round, best of each.
 * Goal: ≤ 4 µs of Redis CPU per event in the step.
 */
import { loadConfig } from "../../config/load.ts"
import type { LifecycleState } from "../../machines/lifecycle.ts"
import { processBatch, snapshotArgs } from "../../src/engine/batch.ts"
import { commitClock } from "../../src/engine/stream-clock.ts"
import { replayMachine } from "../../src/replay/engine-context.ts"
import { applyBatch, stepArguments, type StepPayload } from "../../streams/atomic-step.ts"
import { applyBatchPending, pendingStepArguments } from "../../streams/atomic-step-pending.ts"
import { readGroup } from "../../streams/consumer.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchContext, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { fillStream } from "../lib/fill.ts"
import { readRedisCpu, redisCpuSince, usecOf, type RedisCpu } from "../lib/redis-cpu.ts"
import { workload } from "../../fixtures/workload.ts"
import { bestOfRounds, turning } from "../lib/rounds.ts"

export const GOAL_USEC_PER_EVENT = 4

/** How a run applies the batches: the engine's step, the step it replaced, or a probe. */
type Variant = "pending" | "mark" | "mark-plain-rows" | "mark-no-snapshots"
const VARIANTS: readonly Variant[] = ["pending", "mark", "mark-plain-rows", "mark-no-snapshots"]

const spec = (events: number) => ({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })

interface Batch {
  readonly payload: Omit<StepPayload, "snaps" | "fence">
  readonly snaps: string[]
}

/** The workload's batches as the engine computes them. */
const computeBatches = (events: number, batchSize: number): Batch[] => {
  const machine = replayMachine(loadConfig({ env: {} }))
  const actors = new Map<string, LifecycleState>()
  const initial = machine.lifecycle.initial()
  const ctx = machine.context((s) => actors.get(s) ?? initial)
  const entries = [...workload(spec(events))]
  const out: Batch[] = []
  for (let i = 0; i < entries.length; i += batchSize) {
    const r = processBatch(entries.slice(i, i + batchSize), ctx)
    for (const [s, snap] of r.snapshots) actors.set(s, snap)
    commitClock(ctx.clock, machine.lifecycle, r.streamTime, r.snapshots)
    const snaps = snapshotArgs(r.snapshots)
    out.push({
      payload: {
        ids: r.ids, lifecycle: r.lifecycle, backfill: r.backfill, dead: r.dead, streamTime: r.streamTime,
        stats: ["entries", r.ids.length, "applied", r.applied, "late", r.late, "dead", r.dead.length,
          "transitions", r.lifecycle.length, "commands", r.backfill.length, "stale", r.stale, "batches", 1]
      },
      snaps
    })
  }
  return out
}

interface StepCost {
  readonly events: number
  readonly cpu: RedisCpu
  /** Bytes of the step's commands on the wire (RESP), all batches. */
  readonly wireBytes: number
  /** Script arguments (ARGV, KEYS not counted), all batches. */
  readonly args: number
  readonly snapBytes: number
}

/** RESP bytes of one command: `*n`, then `$len` and the bytes of each part. */
const respBytes = (parts: readonly string[]): number => {
  let n = `*${parts.length}\r\n`.length
  for (const p of parts) {
    const len = Buffer.byteLength(p)
    n += `$${len}\r\n`.length + len + 2
  }
  return n
}
/** Stands for the script's SHA1 in the byte count: EVALSHA sends 40 hex digits. */
const SHA = "0".repeat(40)

/** Apply every batch to a fresh namespace, entries read into the group first as the engine reads them. */
const applyAll = async (ctx: BenchContext, batches: readonly Batch[], variant: Variant, events: number): Promise<StepCost> => {
  const ns = await benchNamespace(ctx, `step-${variant}`)
  try {
    const ingress = ingressKeys(ns.prefix)
    const keys = partitionKeys(ns.prefix, 0)
    await fillStream(ns.redis, ingress.scores, workload(spec(events)))
    await ns.redis.xgroup("CREATE", ingress.scores, GROUPS.engine, "0")
    await ns.redis.hset(keys.lease, "owner", "bench", "epoch", "1")
    let wireBytes = 0
    let args = 0
    let snapBytes = 0
    let cpu: RedisCpu | undefined
    for (const [i, b] of batches.entries()) {
      const got = await readGroup(ns.redis, ingress.scores, GROUPS.engine, "bench", b.payload.ids.length, 1_000, ">")
      if (got.length !== b.payload.ids.length || got[0]?.id !== b.payload.ids[0]) throw new Error(`batch ${i}: the group read other entries than the batch holds`)
      const snaps = variant === "mark-no-snapshots" ? [] : b.snaps
      const payload = { ...b.payload, snaps, fence: { owner: "bench", epoch: "1", step: String(i) } }
      const sent = variant === "pending" ? pendingStepArguments(ingress, keys, GROUPS.engine, payload)
        : stepArguments(ingress, keys, GROUPS.engine, payload, variant === "mark-plain-rows" ? "plain" : "shaped")
      wireBytes += respBytes(["EVALSHA", SHA, String(sent.keys.length), ...sent.keys, ...sent.args])
      args += sent.args.length
      for (const s of snaps) snapBytes += Buffer.byteLength(s)
      const before = await readRedisCpu(ns.redis)
      const applied = variant === "pending" ? await applyBatchPending(ns.redis, ingress, keys, GROUPS.engine, payload)
        : await applyBatch(ns.redis, ingress, keys, GROUPS.engine, payload, variant === "mark-plain-rows" ? "plain" : "shaped")
      if (applied !== b.payload.ids.length) throw new Error(`batch ${i}: ${applied} of ${b.payload.ids.length} applied`)
      const d = redisCpuSince(before, await readRedisCpu(ns.redis))
      cpu = cpu === undefined ? d : sumCpu(cpu, d)
    }
    return { events, cpu: cpu ?? { commands: new Map(), serverUsec: 0 }, wireBytes, args, snapBytes }
  } finally {
    await ns.cleanup()
  }
}

const sumCpu = (a: RedisCpu, b: RedisCpu): RedisCpu => {
  const commands = new Map(a.commands)
  for (const [n, c] of b.commands) {
    const x = commands.get(n) ?? { calls: 0, usec: 0 }
    commands.set(n, { calls: x.calls + c.calls, usec: x.usec + c.usec })
  }
  return { commands, serverUsec: a.serverUsec + b.serverUsec }
}

/** µs per event of the script and of the commands it runs. */
const perEvent = (c: StepCost) => {
  const u = (...names: string[]) => usecOf(c.cpu, ...names) / c.events
  return {
    step: u("evalsha", "eval"), xpending: u("xpending"), hset: u("hset"), xack: u("xack"), xadd: u("xadd"), marks: u("get", "set"),
    wireBytes: c.wireBytes / c.events, args: c.args / c.events, snapBytes: c.snapBytes / c.events
  }
}

export const scenario: Scenario = {
  name: "atomic-step",
  description: "Redis CPU (INFO commandstats) and wire bytes per event in the atomic step; applied-through marks vs the pending-list check",
  run: async (ctx) => {
    const events = ctx.size === "tiny" ? 2_000 : 300_000
    const rounds = ctx.size === "tiny" ? 1 : Math.max(1, Number(process.env["STRATA_BENCH_STEP_ROUNDS"] ?? 2))
    const batchSize = loadConfig({ env: {} }).ingest.batch_size
    const batches = computeBatches(events, batchSize)
    // The order turns each round: the machine's load drifts.
    const measured = await bestOfRounds({
      rounds, variants: VARIANTS, order: turning,
      run: async (variant, round) => {
        const p = perEvent(await applyAll(ctx, batches, variant, events))
        ctx.log(`round ${round + 1} ${variant}: step ${p.step.toFixed(2)} µs/event (XPENDING ${p.xpending.toFixed(2)}, HSET ${p.hset.toFixed(2)}, ` +
          `XADD ${p.xadd.toFixed(2)}, XACK ${p.xack.toFixed(2)}, GET/SET ${p.marks.toFixed(2)}), ${p.wireBytes.toFixed(0)} B on the wire/event ` +
          `(${p.snapBytes.toFixed(0)} B snapshots), ${p.args.toFixed(2)} script arguments/event`)
        return p
      },
      better: (a, b) => a.step < b.step
    })
    const best = Object.fromEntries(measured.best) as Partial<Record<Variant, ReturnType<typeof perEvent>>>
    const { mark, pending: old, "mark-plain-rows": plain, "mark-no-snapshots": bare } = best
    if (mark === undefined || old === undefined || plain === undefined || bare === undefined) throw new Error("no round ran")
    const backlog = `${events.toLocaleString("en-US")} events, ${batchSize} per batch`
    const before = { name: "the same batches through the pending-list step (main's)", value: old.step }
    return [{
      scenario: "atomic-step", metric: `Redis CPU per event in the step, EVALSHA µs (${backlog})`, value: mark.step, unit: "µs",
      baseline: before, ratio: mark.step / old.step,
      goal: `≤ ${GOAL_USEC_PER_EVENT} µs (lower is better)`, pass: mark.step <= GOAL_USEC_PER_EVENT
    }, {
      scenario: "atomic-step", metric: "bytes of the step's command on the wire per event", value: mark.wireBytes, unit: "B",
      baseline: { name: "the pending-list step", value: old.wireBytes }, ratio: mark.wireBytes / old.wireBytes
    }, {
      scenario: "atomic-step", metric: "script arguments per event", value: mark.args, unit: "",
      baseline: { name: "the pending-list step", value: old.args }, ratio: mark.args / old.args
    }, {
      scenario: "atomic-step", metric: "shaped output rows: step µs per event", value: mark.step, unit: "µs",
      baseline: { name: "marks with plain rows", value: plain.step }, ratio: mark.step / plain.step
    }, {
      scenario: "atomic-step", metric: "snapshots in full (arguments and HSET), µs per event", value: mark.step - bare.step, unit: "µs",
      baseline: { name: "the whole step", value: mark.step }, ratio: (mark.step - bare.step) / mark.step
    }, {
      scenario: "atomic-step", metric: "XPENDING µs per event in the pending-list step", value: old.xpending, unit: "µs",
      baseline: { name: "that whole step", value: old.step }, ratio: old.xpending / old.step
    }, {
      scenario: "atomic-step", metric: "XACK µs per event (share of the step)", value: mark.xack, unit: "µs",
      baseline: { name: "the whole step", value: mark.step }, ratio: mark.xack / mark.step
    }]
  }
}

export default scenario
