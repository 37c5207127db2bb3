/**
 * Recovery: time from (re)starting an engine process that holds N persisted actors (100k
 * in full size) to its first applied event, beside the same measure for a bare relay
 * process (raw two-hop middle) started the same way, which holds nothing: the difference
 * is what restoring the engine costs. Goal: ≤ 2 s at 100k symbols.
 */
import { join } from "node:path"
import { loadConfig } from "../../config/load.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { decodeScoresEntry, scoresFields } from "../../streams/scores-wire.ts"
import { processBatch, snapshotArgs } from "../../src/engine/batch.ts"
import { replayMachine } from "../../src/replay/engine-context.ts"
import type { LifecycleState } from "../../machines/lifecycle.ts"
import type { Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { ROOT, startChild } from "../lib/children.ts"
import { timeProgress } from "../lib/fill.ts"
import { workload } from "../../fixtures/workload.ts"

export const GOAL_SECONDS = 2

export const scenario: Scenario = {
  name: "recovery",
  description: "restart → first applied event with N actors held, vs a bare relay process start → first relayed entry",
  run: async (ctx) => {
    const n = ctx.size === "tiny" ? 2_000 : 100_000
    const k = n.toLocaleString("en-US")
    const ns = await benchNamespace(ctx, "recov")
    let engineSeconds = 0
    let rawSeconds = 0
    try {
      // The state a crashed engine leaves: N persisted actors, every input acknowledged.
      const machine = replayMachine(loadConfig({ env: {} }))
      const actors = new Map<string, LifecycleState>()
      const initial = machine.lifecycle.initial()
      const ctxB = machine.context((s) => actors.get(s) ?? initial)
      // Random scores, but every symbol gets three events, so exactly n actors are held.
      const t0 = Date.UTC(2026, 0, 5, 14, 30)
      const batch = [...workload({ events: n * 3, symbols: n, seed: 9, start: t0, stepMs: 10, symbolOf: (i) => i % n })]
      for (let i = 0; i < batch.length; i += 5_000) {
        for (const [s, snap] of processBatch(batch.slice(i, i + 5_000), ctxB).snapshots) actors.set(s, snap)
      }
      const args = snapshotArgs(actors)
      const keys = partitionKeys(ns.prefix, 0)
      for (let i = 0; i < args.length; i += 10_000) await ns.redis.hset(keys.snapshots, ...args.slice(i, i + 10_000))
      const scores = ingressKeys(ns.prefix).scores
      await ns.redis.xgroup("CREATE", scores, GROUPS.engine, "$", "MKSTREAM")
      // The event waiting for the restarted engine, for a symbol it holds.
      const last = batch.at(-1)
      if (!last) throw new Error("empty workload")
      const event = decodeScoresEntry(last.id, last.fields, { maxFields: 64, maxValueLength: 1024 })
      if (!event.ok) throw new Error(`the last workload entry does not decode: ${event.reason}`)
      await ns.redis.xadd(scores, "*", ...scoresFields(event.symbol, event.scores, event.at + 60_000))
      ctx.log(`${k} snapshots held (${await ns.redis.hlen(keys.snapshots)})`)
      const started = performance.now()
      const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(ctx.tmpDir, "engine.log"))
      try {
        const t = await timeProgress(async () => Number(await ns.redis.hget(keys.stats, "entries") ?? 0), 1, 120_000, 5)
        engineSeconds = (t.done - started) / 1000
      } finally {
        await child.stop()
      }
      // Baseline: the relay process, started the same way, to its first relayed entry.
      const input = `${ns.prefix}:raw-in`, output = `${ns.prefix}:raw-out`
      await ns.redis.xadd(input, "*", ...last.fields)
      const rawStarted = performance.now()
      const relay = startChild(join(ROOT, "bench/lib/relay-raw.ts"),
        [ctx.redisUrl, input, output, "all", String(ns.config.ingest.batch_size), String(ns.config.ingest.block_ms)], process.env, join(ctx.tmpDir, "relay.log"))
      try {
        const t = await timeProgress(async () => Number(await ns.redis.xlen(output)), 1, 120_000, 5)
        rawSeconds = (t.done - rawStarted) / 1000
      } finally {
        await relay.stop()
      }
    } finally {
      await ns.cleanup()
    }
    ctx.log(`engine ${engineSeconds.toFixed(2)} s, bare relay ${rawSeconds.toFixed(2)} s`)
    return [{
      scenario: "recovery", metric: `restart → first applied event, ${k} actors held`, value: engineSeconds, unit: "s",
      baseline: { name: "bare relay process start → first entry", value: rawSeconds }, ratio: engineSeconds / rawSeconds,
      goal: `≤ ${GOAL_SECONDS} s (lower is better)`, pass: engineSeconds <= GOAL_SECONDS
    }]
  }
}

export default scenario
