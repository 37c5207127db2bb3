/**
 * The three systems the latency scenario drives with the same open-loop schedule:
 *  - engine: XADD to the scores stream → a `strata engine` child → backfill command read
 *    with XREAD on the backfill stream (only qualifying events owe a command);
 *  - raw two-hop: XADD → relay child (XREADGROUP, XADD, XACK) → XREAD, no processing;
 *  - BullMQ: Queue.addBulk → relay Worker child → Queue → Worker here.
 * Each reports when the output for event `seq` became readable here.
 */
import { join } from "node:path"
import { Queue, Worker } from "bullmq"
import { Redis } from "ioredis"
import { openRedis } from "../../src/services/redis.ts"
import { readAfter } from "../../streams/consumer.ts"
import { fieldValue } from "../../streams/entry.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchContext } from "../scenario.ts"
import { benchNamespace, deleteKeys, type BenchNamespace } from "./bench-namespace.ts"
import { ROOT, startChild, type Child } from "./children.ts"
import type { DueEvent } from "./open-loop.ts"
import { benchSymbol } from "../../fixtures/workload.ts"

export interface LatencyTarget {
  readonly name: string
  /** Which events produce an output (the engine only emits commands on promotions). */
  readonly emits: (seq: number) => boolean
  readonly send: (events: readonly DueEvent[]) => Promise<void>
  readonly stop: () => Promise<void>
}

export type OnSeen = (seq: number, at: number) => void

/** A blocking XREAD loop over `stream`, reporting each entry's event seq from its cause ID. */
const tailStream = (url: string, stream: string, onSeen: OnSeen) => {
  const redis = new Redis(url)
  let running = true
  const done = (async () => {
    let last = "0"
    while (running) {
      const entries = await readAfter(redis, stream, last, 2000, 100)
      const at = performance.now()
      for (const { id, fields } of entries) {
        last = id
        const cause = fieldValue(fields, "cause")
        if (cause) onSeen(Number(cause.slice(cause.indexOf("-") + 1)) - 1, at)
      }
    }
  })()
  return async () => { running = false; await done; redis.disconnect() }
}

/** Events carry explicit IDs `<T>-<seq+1>`, so the cause names the event without a lookup. */
const idOf = (t: number, seq: number): string => `${t}-${seq + 1}`

const SYMBOLS = 1000
/**
 * Event `seq` is for symbol seq mod SYMBOLS; each symbol cycles through ten phases, offset
 * per symbol so the mix is even over time: phase 0 qualifies it for L1 (one backfill
 * command), phases 1-8 hold it there (no transition), phase 9 disqualifies it. One event in
 * ten owes a command, one in five is a transition, like a scanner whose scores mostly hold.
 */
const phaseOf = (seq: number): number => (Math.floor(seq / SYMBOLS) + (seq % SYMBOLS)) % 10
/** Event `seq` as scoresFields' arguments: symbol, scores, ts. */
const scoreEvent = (t: number, seq: number) =>
  [benchSymbol(seq % SYMBOLS), { liquidity: phaseOf(seq) === 9 ? "0.1" : "0.9" }, t + seq] as const

/** A target fed by XADD to `input` (explicit IDs) whose outputs are tailed on `output`. */
const streamTarget = (
  ctx: BenchContext, name: string, ns: BenchNamespace, child: Child, input: string, output: string,
  emits: (seq: number) => boolean, onSeen: OnSeen
): LatencyTarget => {
  const stopTail = tailStream(ctx.redisUrl, output, onSeen)
  const t = Date.now()
  return {
    name,
    emits,
    send: async (events) => {
      const p = ns.redis.pipeline()
      for (const e of events) p.xadd(input, idOf(t, e.seq), ...scoresFields(...scoreEvent(t, e.seq)))
      await p.exec()
    },
    stop: async () => {
      await stopTail()
      await child.stop()
      await ns.cleanup()
    }
  }
}

/**
 * The engine as a latency target, with its namespace and its log file (which names the
 * HTTP port the engine picked), for scenarios that also talk to the engine's storage.
 */
export const engineTarget = async (
  ctx: BenchContext, onSeen: OnSeen
): Promise<LatencyTarget & { readonly ns: BenchNamespace; readonly logFile: string }> => {
  const ns: BenchNamespace = await benchNamespace(ctx, "lat-engine", {
    lifecycle: { confirmations: 1, min_dwell: "0s" }
  })
  const logFile = join(ctx.tmpDir, `${ns.prefix}.log`)
  const child: Child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, logFile)
  await child.ready(/engine running/)
  const target = streamTarget(ctx, "engine", ns, child, ingressKeys(ns.prefix).scores, partitionKeys(ns.prefix, 0).backfill, (seq) => phaseOf(seq) === 0, onSeen)
  return { ...target, ns, logFile }
}

export const rawTarget = async (ctx: BenchContext, onSeen: OnSeen): Promise<LatencyTarget> => {
  const ns = await benchNamespace(ctx, "lat-raw")
  const input = `${ns.prefix}:in`, output = `${ns.prefix}:out`
  const child = startChild(join(ROOT, "bench/lib/relay-raw.ts"), [ctx.redisUrl, input, output], process.env, join(ctx.tmpDir, `${ns.prefix}.log`))
  await child.ready(/ready/)
  return streamTarget(ctx, "raw two-hop", ns, child, input, output, () => true, onSeen)
}

export const bullmqTarget = async (ctx: BenchContext, onSeen: OnSeen): Promise<LatencyTarget> => {
  const prefix = `bench-bull-${Math.random().toString(36).slice(2, 10)}`
  const child = startChild(join(ROOT, "bench/lib/relay-bullmq.ts"), [ctx.redisUrl, prefix], process.env, join(ctx.tmpDir, `${prefix}.log`))
  await child.ready(/ready/)
  const u = new URL(ctx.redisUrl)
  const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null }
  const queue = new Queue("scores", { connection, prefix })
  const worker = new Worker("commands", async (job) => {
    onSeen((job.data as { seq: number }).seq, performance.now())
  }, { connection, prefix, concurrency: 100, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } })
  await worker.waitUntilReady()
  const t = Date.now()
  return {
    name: "BullMQ",
    emits: () => true,
    send: async (events) => {
      await queue.addBulk(events.map((e) => ({
        name: "score", data: { seq: e.seq, fields: scoresFields(...scoreEvent(t, e.seq)) }, opts: { removeOnComplete: true, removeOnFail: true }
      })))
    },
    stop: async () => {
      await worker.close()
      await queue.close()
      await child.stop()
      const redis = openRedis(ctx.redisUrl, "bench-bull-cleanup")
      await deleteKeys(redis, `${prefix}:*`)
      redis.disconnect()
    }
  }
}
