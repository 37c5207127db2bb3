/**
 * Which Redis client the raw baselines run on: the same pre-filled backlog drained with
 * XREADGROUP + XACK in batches of the engine's size by each maintained client (ioredis 6,
 * ioredis 5, node-redis), in rounds that alternate the clients so drift on a shared machine
 * falls on all of them. A baseline on a slow decoder would flatter every ratio against it.
 * The raw baselines use `RAW_CLIENT` (raw-clients.ts); this scenario says whether that is
 * still the fastest, as a ratio, and fails the goal when it is not.
 */
import { GROUPS, ingressKeys } from "../../streams/keys.ts"
import type { BenchFigure, Scenario } from "../scenario.ts"
import { benchNamespace } from "../lib/bench-namespace.ts"
import { fillStream } from "../lib/fill.ts"
import { CLIENTS, RAW_CLIENT, drainRate, openRawClient } from "../lib/raw-clients.ts"
import { workload } from "../../fixtures/workload.ts"
import { bestOfRounds } from "../lib/rounds.ts"

const ROUNDS = 3

export const scenario: Scenario = {
  name: "client",
  description: "backlog drain rate (XREADGROUP + XACK) of each maintained Redis client; the raw baselines use the fastest",
  run: async (ctx) => {
    const events = ctx.size === "tiny" ? 2_000 : 200_000
    const { best } = await bestOfRounds({
      rounds: ROUNDS, variants: CLIENTS,
      run: async (name, round) => {
        const ns = await benchNamespace(ctx, "client")
        try {
          const scores = ingressKeys(ns.prefix).scores
          await fillStream(ns.redis, scores, workload({ events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 }))
          await ns.redis.xgroup("CREATE", scores, GROUPS.engine, "0")
          const client = await openRawClient(name, ctx.redisUrl)
          try {
            const rate = await drainRate(client, scores, GROUPS.engine, ns.config.ingest.batch_size, events)
            ctx.log(`round ${round + 1}: ${name} drained ${Math.round(rate)} ev/s`)
            return rate
          } finally {
            await client.close()
          }
        } finally {
          await ns.cleanup()
        }
      },
      better: (a, b) => a > b
    })
    const chosen = best.get(RAW_CLIENT) ?? 0
    const fastest = [...best.entries()].sort((a, b) => b[1] - a[1])[0]!
    const figures: BenchFigure[] = CLIENTS.map((name) => ({
      scenario: "client", metric: `${name} drain, best of ${ROUNDS} (${events.toLocaleString("en-US")} backlog)`,
      value: best.get(name) ?? 0, unit: "ev/s",
      baseline: { name: `${RAW_CLIENT} (the raw baselines' client)`, value: chosen },
      ratio: chosen > 0 ? (best.get(name) ?? 0) / chosen : 0
    }))
    figures.push({
      scenario: "client", metric: `raw baselines' client (${RAW_CLIENT}) vs fastest (${fastest[0]})`, value: chosen, unit: "ev/s",
      baseline: { name: fastest[0], value: fastest[1] }, ratio: fastest[1] > 0 ? chosen / fastest[1] : 0,
      // Within 5 %: closer than that is noise between rounds on a shared machine.
      goal: "≥ 0.95× the fastest client", pass: chosen >= 0.95 * fastest[1]
    })
    return figures
  }
}

export default scenario
