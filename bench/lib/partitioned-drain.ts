/**
 * Throughput of a partitioned install's two stages, each beside its raw baseline:
 *  - applying: a backlog already in the partitions' scores streams, drained by N `strata
 *    engine` processes that share the partitions (the router idle: the ingress stream is
 *    empty); beside it, the same backlog in one stream consumed with XREADGROUP + XACK;
 *  - routing: a backlog in the ingress stream, copied to the partitions by the engine's
 *    router alone, in this process (no engine applies); beside it, the same backlog copied
 *    by a raw router: XREADGROUP, then XADD of each entry to its partition's stream under
 *    its own ID and XACK, in one MULTI.
 * The raw side runs on the raw baselines' client (raw-clients.ts). The backlog reaches the
 * engines all at once: it is filled into staging streams that already carry the engines'
 * group, which are renamed onto the partitions' streams in one MULTI once the engines
 * have settled on their shares, so no engine starts draining before the others run.
 */
import type { Redis } from "ioredis"
import type { StreamEntry } from "../../streams/entry.ts"
import { fieldValue } from "../../streams/entry.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { Router, routerLease } from "../../src/engine/router.ts"
import { createLogger } from "../../src/services/logger.ts"
import { openRedis } from "../../src/services/redis.ts"
import type { BenchContext } from "../scenario.ts"
import { benchNamespace } from "./bench-namespace.ts"
import type { Child } from "./children.ts"
import { drainRateOf, fillStream, timeProgress } from "./fill.ts"
import { appliedEntries, settleInstall, startEngine } from "./partitioned-install.ts"
import { RAW_CLIENT, drainRate, openRawClient } from "./raw-clients.ts"

export type Backlog = () => Iterable<StreamEntry>

const partitionOf = (e: StreamEntry, count: number): number => symbolPartition(fieldValue(e.fields, "symbol") ?? "", count)

/** N engines drain `backlog` from the partitions' streams; entries applied per second. */
export const engineDrainRate = async (
  ctx: BenchContext, engines: number, count: number, backlog: Backlog, events: number, extra: Record<string, unknown> = {}
): Promise<number> => {
  const ns = await benchNamespace(ctx, `pdrain${engines}`, { ...extra, partitions: count })
  const children: Child[] = []
  try {
    const staging = Array.from({ length: count }, (_, p) => `${ns.prefix}:staging:${p}`)
    for (const s of staging) await ns.redis.xgroup("CREATE", s, GROUPS.engine, "0", "MKSTREAM")
    const byPartition: StreamEntry[][] = staging.map(() => [])
    for (const e of backlog()) byPartition[partitionOf(e, count)]?.push(e)
    for (let p = 0; p < count; p++) await fillStream(ns.redis, staging[p] as string, byPartition[p] ?? [])
    children.push(...(await Promise.all(Array.from({ length: engines }, (_, i) => startEngine(ns, ctx.tmpDir, `d${i}`)))))
    await settleInstall(ns.redis, ns.prefix, count, new Set(children.map((c) => c.pid)), Math.ceil(ns.config.lease.ttl_ms / 3),
      `${engines} engine(s) to share every partition`)
    const m = ns.redis.multi()
    for (let p = 0; p < count; p++) m.rename(staging[p] as string, partitionKeys(ns.prefix, p, count).scores)
    await m.exec()
    const t = await timeProgress(() => appliedEntries(ns.redis, ns.prefix, count), events, 600_000)
    return drainRateOf(events, t)
  } finally {
    await Promise.all(children.map((c) => c.stop()))
    await ns.cleanup()
  }
}

/** The same backlog in one stream, consumed with XREADGROUP + XACK in batches of the engine's size. */
export const rawDrainRate = async (ctx: BenchContext, backlog: Backlog, events: number): Promise<number> => {
  const ns = await benchNamespace(ctx, "pdrain-raw")
  try {
    const stream = `${ns.prefix}:raw-in`
    await fillStream(ns.redis, stream, backlog())
    await ns.redis.xgroup("CREATE", stream, GROUPS.engine, "0")
    const client = await openRawClient(RAW_CLIENT, ctx.redisUrl)
    try {
      return await drainRate(client, stream, GROUPS.engine, ns.config.ingest.batch_size, events)
    } finally {
      await client.close()
    }
  } finally {
    await ns.cleanup()
  }
}

const closeAll = async (...clients: Redis[]) => {
  for (const c of clients) await c.quit().catch(() => c.disconnect())
}

/** The engine's router alone over `backlog` in the ingress stream; entries routed per second. */
export const routerRate = async (ctx: BenchContext, count: number, backlog: Backlog, events: number): Promise<number> => {
  const ns = await benchNamespace(ctx, "proute", { partitions: count })
  const reads = openRedis(ctx.redisUrl, "bench-router-reads")
  const writes = openRedis(ctx.redisUrl, "bench-router-writes")
  try {
    await fillStream(ns.redis, ingressKeys(ns.prefix).scores, backlog())
    const lease = routerLease(writes, ns.config)
    const router = new Router(reads, writes, ns.config, createLogger("bench-router", "warn"), lease)
    await router.init()
    if (!(await lease.acquire()).held) throw new Error("the router lease of a fresh namespace is held by another")
    const tickMs = Math.ceil(ns.config.lease.ttl_ms / 3)
    const started = performance.now()
    let renewed = started
    for (let idle = 0; router.stats.routed < events;) {
      // The engine renews on its own fiber every third of the TTL; here between batches.
      if (performance.now() - renewed >= tickMs) {
        renewed = performance.now()
        if (!(await lease.renew()).renewed) throw new Error("the router lost its lease during the run")
      }
      idle = (await router.runOnce()) === 0 ? idle + 1 : 0
      if (idle > 50) throw new Error(`router idle at ${router.stats.routed} of ${events}`)
    }
    return router.stats.routed / ((performance.now() - started) / 1000)
  } finally {
    await closeAll(reads, writes)
    await ns.cleanup()
  }
}

/** A raw router over the same backlog: read a batch, copy each entry to its partition under its ID and acknowledge, in one MULTI. */
export const rawRouteRate = async (ctx: BenchContext, count: number, backlog: Backlog, events: number): Promise<number> => {
  const ns = await benchNamespace(ctx, "proute-raw")
  try {
    const input = `${ns.prefix}:raw-in`
    await fillStream(ns.redis, input, backlog())
    await ns.redis.xgroup("CREATE", input, GROUPS.router, "0")
    const streams = Array.from({ length: count }, (_, p) => partitionKeys(ns.prefix, p, count).scores)
    const client = await openRawClient(RAW_CLIENT, ctx.redisUrl)
    try {
      const started = performance.now()
      let done = 0
      while (done < events) {
        const entries = await client.readGroup(input, GROUPS.router, "raw-router", ns.config.ingest.batch_size)
        if (entries.length === 0) break
        const copies = entries.map(([id, fields]) => ({
          stream: streams[symbolPartition(fieldValue(fields, "symbol") ?? "", count)] as string, id, fields
        }))
        await client.copy(input, GROUPS.router, entries.map(([id]) => id), copies)
        done += entries.length
      }
      return done / ((performance.now() - started) / 1000)
    } finally {
      await client.close()
    }
  } finally {
    await ns.cleanup()
  }
}
