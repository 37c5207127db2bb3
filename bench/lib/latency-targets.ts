/**
 * The systems the latency scenario drives with the same open-loop schedule:
 *  - engine: XADD to the scores stream → a `strata engine` child → backfill command read
 *    with XREAD on the backfill stream (only qualifying events owe a command); the same
 *    with an install of several partitions (the router's hop, every partition's stream);
 *  - raw two-hop, volume-matched: XADD → relay child (XREADGROUP in batches of the
 *    engine's size, XADD for exactly the events the engine emits for, XACK) → XREAD;
 *  - raw two-hop, every event: the same relay emitting for every event;
 *  - BullMQ: Queue.addBulk → relay Worker child → Queue → sink Worker child, which
 *    reports what it saw on its stdout, so no BullMQ worker runs in the generator's process.
 * Each reports when the output for event `seq` became readable (for BullMQ: was handled),
 * read by one blocking reader per output stream. The bench's Redis URL may name a Cluster
 * (`redis+cluster://`): the stream targets then run on it unchanged.
 */
import { join } from "node:path"
import { createInterface } from "node:readline"
import { Queue } from "bullmq"
import { openRedis } from "../../src/services/redis.ts"
import { readAfter } from "../../streams/stream-read.ts"
import { fieldValue } from "../../streams/entry.ts"
import { scoresFields } from "../../streams/scores-wire.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import type { BenchContext } from "../scenario.ts"
import { benchNamespace, deleteKeys, type BenchNamespace } from "./bench-namespace.ts"
import { ROOT, startChild, type Child } from "./children.ts"
import { idOf, owesCommand, scoreEvent, seqOfId } from "./latency-workload.ts"
import type { DueEvent } from "./open-loop.ts"
import { bullConnection } from "./bull-connection.ts"
import { settleInstall } from "./partitioned-install.ts"

/** Every event that qualifies promotes at once, so one event in ten owes a command (latency-workload.ts). */
const LATENCY_LIFECYCLE = { confirmations: 1, min_dwell: "0s" } as const

export interface LatencyTarget {
  readonly name: string
  /** Which events produce an output (the engine only emits commands on promotions). */
  readonly emits: (seq: number) => boolean
  readonly send: (events: readonly DueEvent[]) => Promise<void>
  readonly stop: () => Promise<void>
}

export type OnSeen = (seq: number, at: number) => void

/**
 * A blocking XREAD loop per stream, each on a connection of its own, reporting each
 * entry's event seq from its cause ID. One reader a stream rather than one XREAD over all:
 * a Redis Cluster serves no XREAD whose keys span slots, and a reader blocking on one
 * slot's streams at a time would see an entry on another only when its block ended.
 */
const tailStreams = (url: string, streams: readonly string[], onSeen: OnSeen) => {
  let running = true
  const readers = streams.map((stream) => {
    const redis = openRedis(url, "bench-tail")
    const done = (async () => {
      let last = "0-0"
      while (running) {
        const entries = await readAfter(redis, stream, last, 2000, 100)
        const at = performance.now()
        for (const { id, fields } of entries) {
          last = id
          const cause = fieldValue(fields, "cause")
          if (cause) onSeen(seqOfId(cause), at)
        }
      }
    })()
    return { redis, done }
  })
  return async () => {
    running = false
    for (const r of readers) {
      await r.done
      r.redis.disconnect()
    }
  }
}

/** A target fed by XADD to `input` (explicit IDs) whose outputs are tailed on `outputs`. */
const streamTarget = (
  ctx: BenchContext, name: string, ns: BenchNamespace, child: Child, input: string, outputs: readonly string[],
  emits: (seq: number) => boolean, onSeen: OnSeen
): LatencyTarget => {
  const stopTail = tailStreams(ctx.redisUrl, outputs, onSeen)
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
  const ns: BenchNamespace = await benchNamespace(ctx, "lat-engine", { lifecycle: LATENCY_LIFECYCLE })
  const logFile = join(ctx.tmpDir, `${ns.prefix}.log`)
  const child: Child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, logFile)
  await child.ready(/engine running/)
  const target = streamTarget(ctx, "engine", ns, child, ingressKeys(ns.prefix).scores, [partitionKeys(ns.prefix, 0).backfill], owesCommand, onSeen)
  return { ...target, ns, logFile }
}

/**
 * The engine of an install of `count` partitions as a latency target: one `strata engine`
 * process (so it holds every partition and the router), fed on the ingress stream, its
 * commands tailed on every partition's backfill stream. Sending starts once it holds
 * every partition. `on` follows the target's name (", on a Cluster", say).
 */
export const partitionedEngineTarget = async (ctx: BenchContext, count: number, onSeen: OnSeen, on = ""): Promise<LatencyTarget> => {
  const ns = await benchNamespace(ctx, "lat-parts", { partitions: count, lifecycle: LATENCY_LIFECYCLE })
  const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(ctx.tmpDir, `${ns.prefix}.log`))
  await child.ready(/engine running/)
  await settleInstall(ns.redis, ns.prefix, count, new Set([child.pid]), Math.ceil(ns.config.lease.ttl_ms / 3), "the engine to hold every partition")
  const outputs = Array.from({ length: count }, (_, p) => partitionKeys(ns.prefix, p, count).backfill)
  return streamTarget(ctx, `engine, ${count} partitions${on}`, ns, child, ingressKeys(ns.prefix).scores, outputs, owesCommand, onSeen)
}

export type RawVolume = "matched" | "all"

/** The raw two-hop relay, emitting for the engine's events only (`matched`) or for every event. */
export const rawTarget = async (ctx: BenchContext, volume: RawVolume, onSeen: OnSeen): Promise<LatencyTarget> => {
  const ns = await benchNamespace(ctx, `lat-raw-${volume}`)
  const input = `${ns.prefix}:in`, output = `${ns.prefix}:out`
  const { batch_size, block_ms } = ns.config.ingest
  const child = startChild(join(ROOT, "bench/lib/relay-raw.ts"), [ctx.redisUrl, input, output, volume, String(batch_size), String(block_ms)],
    process.env, join(ctx.tmpDir, `${ns.prefix}.log`))
  await child.ready(/ready/)
  const name = volume === "matched" ? "raw two-hop (volume-matched)" : "raw two-hop (every event)"
  return streamTarget(ctx, name, ns, child, input, [output], volume === "matched" ? owesCommand : () => true, onSeen)
}

/**
 * The sink's reports, `<seq> <epoch ms>` per line: its clock is turned into this
 * process's `performance.now()` through both processes' time origins.
 */
const onSinkLines = (child: Child, onSeen: OnSeen) => {
  const lines = createInterface({ input: child.process.stdout! })
  lines.on("line", (line) => {
    const [seq, at] = line.split(" ")
    if (seq === undefined || at === undefined || !/^\d+$/.test(seq)) return
    onSeen(Number(seq), Number(at) - performance.timeOrigin)
  })
}

export const bullmqTarget = async (ctx: BenchContext, onSeen: OnSeen): Promise<LatencyTarget> => {
  const prefix = `bench-bull-${Math.random().toString(36).slice(2, 10)}`
  const relay = startChild(join(ROOT, "bench/lib/relay-bullmq.ts"), [ctx.redisUrl, prefix], process.env, join(ctx.tmpDir, `${prefix}.log`))
  const sink = startChild(join(ROOT, "bench/lib/sink-bullmq.ts"), [ctx.redisUrl, prefix], process.env, join(ctx.tmpDir, `${prefix}-sink.log`))
  onSinkLines(sink, onSeen)
  await Promise.all([relay.ready(/ready/), sink.ready(/ready/)])
  const connection = bullConnection(ctx.redisUrl)
  const queue = new Queue("scores", { connection, prefix })
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
      await queue.close()
      await Promise.all([relay.stop(), sink.stop()])
      const redis = openRedis(ctx.redisUrl, "bench-bull-cleanup")
      await deleteKeys(redis, `${prefix}:*`)
      redis.disconnect()
    }
  }
}
