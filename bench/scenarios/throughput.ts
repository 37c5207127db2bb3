/**
 * Throughput: the most score events per second one engine process applies (a pre-filled
 * backlog drained by a `strata engine` child, atomic step and projector included), beside
 * the raw consume rate of the same backlog (XREADGROUP + XACK, no processing, on the
 * fastest maintained client: raw-clients.ts).
 * Goal: ≥ 100k events/s per process.
 */
import { join } from "node:path"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { ROOT, startChild } from "../lib/children.ts"
import { fillStream, timeProgress } from "../lib/fill.ts"
import { RAW_CLIENT, drainRate, openRawClient } from "../lib/raw-clients.ts"
import { workload } from "../../fixtures/workload.ts"

export const GOAL_EVENTS_PER_S = 100_000

const spec = (events: number) => ({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 })

export const scenario: Scenario = {
  name: "throughput",
  description: "max sustained events/s of one engine process vs raw XREADGROUP+XACK consume",
  run: async (ctx) => {
    const events = ctx.size === "tiny" ? 2_000 : 300_000
    // The engine: drain a pre-filled backlog.
    const ns = await benchNamespace(ctx, "tput")
    let engineRate = 0
    try {
      const scores = ingressKeys(ns.prefix).scores
      await fillStream(ns.redis, scores, workload(spec(events)))
      const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(ctx.tmpDir, "engine.log"))
      try {
        const stats = partitionKeys(ns.prefix, 0).stats
        const t = await timeProgress(async () => Number(await ns.redis.hget(stats, "entries") ?? 0), events, 600_000)
        engineRate = events / ((t.done - t.first) / 1000)
      } finally {
        await child.stop()
      }
    } finally {
      await ns.cleanup()
    }
    // The baseline: the same backlog consumed with XREADGROUP + XACK in batches of the engine's size.
    const raw = await benchNamespace(ctx, "tput-raw")
    let rawRate = 0
    try {
      const scores = ingressKeys(raw.prefix).scores
      await fillStream(raw.redis, scores, workload(spec(events)))
      await raw.redis.xgroup("CREATE", scores, GROUPS.engine, "0")
      const client = await openRawClient(RAW_CLIENT, ctx.redisUrl)
      try {
        rawRate = await drainRate(client, scores, GROUPS.engine, raw.config.ingest.batch_size, events)
      } finally {
        await client.close()
      }
    } finally {
      await raw.cleanup()
    }
    ctx.log(`engine ${Math.round(engineRate)} ev/s, raw consume ${Math.round(rawRate)} ev/s`)
    return [{
      scenario: "throughput", metric: `engine events/s (${events.toLocaleString("en-US")} backlog)`, value: engineRate, unit: "ev/s",
      baseline: { name: `raw XREADGROUP+XACK consume (${RAW_CLIENT})`, value: rawRate }, ratio: engineRate / rawRate,
      goal: `≥ ${GOAL_EVENTS_PER_S.toLocaleString("en-US")} ev/s`, pass: engineRate >= GOAL_EVENTS_PER_S
    }]
  }
}

export default scenario
