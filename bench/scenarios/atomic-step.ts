/**
 * Atomic step: the Redis CPU one event costs in the step's Lua script (INFO commandstats,
 * EVALSHA µs over events applied; the commands the script runs, XPENDING, HSET, XADD,
 * XACK, counted apart), and the bytes of script arguments per event. The same batches of
 * the throughput workload (10k symbols, batches of ingest.batch_size), computed once
 * with processBatch, are applied to a fresh namespace through the engine's own applyBatch
 * (lease and marker fence included) once with the stored snapshots in the compact
 * versioned form this engine writes and once in the unversioned JSON older engines wrote,
 * alternating, so that the snapshot form's share is a same-run ratio. A probe, run in
 * the same rounds, measures the snapshots' full cost (HSET and the script's handling of
 * its arguments): the same batches with no snapshot sent at all.
 * STRATA_BENCH_STEP_ROUNDS (default 2) rounds, the order turning each round, best of each.
 * Goal: ≤ 4 µs of Redis CPU per event in the step.
 */
import { loadConfig } from "../../config/load.ts"
import { encodeActor, encodeLegacyActor, type PersistedActor } from "../../machines/snapshot-codec.ts"
import type { LifecycleSnapshot } from "../../machines/lifecycle.ts"
import { processBatch, snapshotArgs } from "../../src/engine/batch.ts"
import { commitClock } from "../../src/engine/stream-clock.ts"
import { replayMachine } from "../../src/replay/engine-context.ts"
import { applyBatch, type StepPayload } from "../../streams/atomic-step.ts"
import { readGroup } from "../../streams/consumer.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchContext, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { fillStream } from "../lib/fill.ts"
import { readRedisCpu, redisCpuSince, usecOf, type RedisCpu } from "../lib/redis-cpu.ts"
import { workload } from "../../fixtures/workload.ts"
import { bestOfRounds } from "../lib/rounds.ts"

export const GOAL_USEC_PER_EVENT = 4

const FORMATS = { compact: encodeActor, unversioned: encodeLegacyActor } as const
type Format = keyof typeof FORMATS

/** What one run applies: the batches with snapshots in a form, or a probe. */
type Variant = Format | "no-snapshots"
const VARIANTS: readonly Variant[] = ["unversioned", "compact", "no-snapshots"]

const spec = (events: number) => ({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })

interface Batch {
  readonly payload: Omit<StepPayload, "snaps" | "fence">
  readonly snaps: Record<Format, string[]>
}

/** The workload's batches as the engine computes them, snapshots in both forms. */
const computeBatches = (events: number, batchSize: number): Batch[] => {
  const machine = replayMachine(loadConfig({ env: {} }))
  const actors = new Map<string, LifecycleSnapshot>()
  const initial = machine.lifecycle.initial()
  const ctx = machine.context((s) => actors.get(s) ?? initial)
  const entries = [...workload(spec(events))]
  const out: Batch[] = []
  for (let i = 0; i < entries.length; i += batchSize) {
    const r = processBatch(entries.slice(i, i + batchSize), ctx)
    for (const [s, snap] of r.snapshots) actors.set(s, snap)
    commitClock(ctx.clock, machine.lifecycle, r.streamTime, r.snapshots)
    const snaps = Object.fromEntries(
      (Object.keys(FORMATS) as Format[]).map((f) => [f, snapshotArgs(machine.lifecycle, r.snapshots, FORMATS[f] as (p: PersistedActor) => string)])
    ) as Record<Format, string[]>
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
  /** Bytes of the script's arguments (the payload JSON and the snapshot arguments), all batches. */
  readonly argBytes: number
  readonly snapBytes: number
}

/** Apply every batch to a fresh namespace, entries read into the group first as the engine reads them. */
const applyAll = async (ctx: BenchContext, batches: readonly Batch[], variant: Variant, events: number): Promise<StepCost> => {
  const ns = await benchNamespace(ctx, `step-${variant}`)
  try {
    const ingress = ingressKeys(ns.prefix)
    const keys = partitionKeys(ns.prefix, 0)
    await fillStream(ns.redis, ingress.scores, workload(spec(events)))
    await ns.redis.xgroup("CREATE", ingress.scores, GROUPS.engine, "0")
    await ns.redis.hset(keys.lease, "owner", "bench", "epoch", "1")
    let argBytes = 0
    let snapBytes = 0
    let cpu: RedisCpu | undefined
    for (const [i, b] of batches.entries()) {
      const got = await readGroup(ns.redis, ingress.scores, GROUPS.engine, "bench", b.payload.ids.length, 1_000, ">")
      if (got.length !== b.payload.ids.length || got[0]?.id !== b.payload.ids[0]) throw new Error(`batch ${i}: the group read other entries than the batch holds`)
      const snaps = variant === "no-snapshots" ? [] : b.snaps[variant]
      const fence = { owner: "bench", epoch: "1", step: String(i) }
      // As applyBatch sends them: the payload JSON, then the snapshots as plain arguments.
      const { streamTime, ...rest } = b.payload
      argBytes += Buffer.byteLength(JSON.stringify(streamTime === null ? { ...rest, fence } : { ...rest, fence, stream_time: String(streamTime) }))
      for (const s of snaps) snapBytes += Buffer.byteLength(s)
      const before = await readRedisCpu(ns.redis)
      const applied = await applyBatch(ns.redis, ingress, keys, GROUPS.engine, { ...b.payload, snaps, fence })
      if (applied !== b.payload.ids.length) throw new Error(`batch ${i}: ${applied} of ${b.payload.ids.length} applied`)
      const d = redisCpuSince(before, await readRedisCpu(ns.redis))
      cpu = cpu === undefined ? d : sumCpu(cpu, d)
    }
    return { events, cpu: cpu ?? { commands: new Map(), serverUsec: 0 }, argBytes: argBytes + snapBytes, snapBytes }
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
    step: u("evalsha", "eval"), xpending: u("xpending"), hset: u("hset"), xack: u("xack"), xadd: u("xadd"),
    argBytes: c.argBytes / c.events, snapBytes: c.snapBytes / c.events
  }
}

export const scenario: Scenario = {
  name: "atomic-step",
  description: "Redis CPU (INFO commandstats) and script argument bytes per event in the atomic step; compact vs unversioned snapshots",
  run: async (ctx) => {
    const events = ctx.size === "tiny" ? 2_000 : 300_000
    const rounds = ctx.size === "tiny" ? 1 : Math.max(1, Number(process.env["STRATA_BENCH_STEP_ROUNDS"] ?? 2))
    const batchSize = loadConfig({ env: {} }).ingest.batch_size
    const batches = computeBatches(events, batchSize)
    // The order turns each round: the machine's load drifts.
    const measured = await bestOfRounds({
      rounds, variants: VARIANTS, turn: true,
      run: async (variant, round) => {
        const p = perEvent(await applyAll(ctx, batches, variant, events))
        ctx.log(`round ${round + 1} ${variant}: step ${p.step.toFixed(2)} µs/event (XPENDING ${p.xpending.toFixed(2)}, HSET ${p.hset.toFixed(2)}, ` +
          `XADD ${p.xadd.toFixed(2)}, XACK ${p.xack.toFixed(2)}), ${p.argBytes.toFixed(0)} B of arguments/event (${p.snapBytes.toFixed(0)} B snapshots)`)
        return p
      },
      better: (a, b) => a.step < b.step
    })
    const best = Object.fromEntries(measured.best) as Partial<Record<Variant, ReturnType<typeof perEvent>>>
    const { compact, unversioned: old, "no-snapshots": bare } = best
    if (compact === undefined || old === undefined || bare === undefined) throw new Error("no round ran")
    const backlog = `${events.toLocaleString("en-US")} events, ${batchSize} per batch`
    return [{
      scenario: "atomic-step", metric: `Redis CPU per event in the step, EVALSHA µs (${backlog})`, value: compact.step, unit: "µs",
      baseline: { name: "the same batches with unversioned snapshot JSON (older engines)", value: old.step }, ratio: compact.step / old.step,
      goal: `≤ ${GOAL_USEC_PER_EVENT} µs (lower is better)`, pass: compact.step <= GOAL_USEC_PER_EVENT
    }, {
      scenario: "atomic-step", metric: "script argument bytes per event", value: compact.argBytes, unit: "B",
      baseline: { name: "unversioned snapshot JSON", value: old.argBytes }, ratio: compact.argBytes / old.argBytes
    }, {
      scenario: "atomic-step", metric: "snapshot HSET µs per event", value: compact.hset, unit: "µs",
      baseline: { name: "unversioned snapshot JSON", value: old.hset }, ratio: compact.hset / old.hset
    }, {
      scenario: "atomic-step", metric: "snapshots in full (arguments and HSET), µs per event", value: compact.step - bare.step, unit: "µs",
      baseline: { name: "unversioned snapshot JSON", value: old.step - bare.step }, ratio: (compact.step - bare.step) / (old.step - bare.step)
    }, {
      scenario: "atomic-step", metric: "XPENDING command µs per event (share of the step)", value: compact.xpending, unit: "µs",
      baseline: { name: "the whole step", value: compact.step }, ratio: compact.xpending / compact.step
    }, {
      scenario: "atomic-step", metric: "XACK µs per event (share of the step)", value: compact.xack, unit: "µs",
      baseline: { name: "the whole step", value: compact.step }, ratio: compact.xack / compact.step
    }]
  }
}

export default scenario
