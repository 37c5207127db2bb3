/**
 * Where the soak's memory sits, sampled beside its curve: each key under the namespace's
 * prefix (type, `MEMORY USAGE`, and for streams their length and pending entries, for
 * hashes and sorted sets their size), Redis' own split of `used_memory` (dataset vs
 * overhead, fragmentation), the clients' buffers, and the engine's heap from its /metrics.
 * Opt-in (STRATA_BENCH_SOAK_DETAIL names a JSON-lines file); it reads, never writes.
 * Does not judge growth: the soak does, from its own samples.
 */
import type { Redis } from "ioredis"
import { groupsOf } from "../../streams/consumer.ts"

export interface KeyDetail {
  readonly type: string
  readonly bytes: number
  /** Entries of a stream, fields of a hash, members of a sorted set or set. */
  readonly size?: number
  /** A stream's entries pending in all its groups. */
  readonly pending?: number
}

export interface SoakDetail {
  readonly keys: Record<string, KeyDetail>
  readonly redis: Record<string, number>
  readonly clients: { readonly count: number; readonly omem: number; readonly totMem: number; readonly qbuf: number }
  readonly engine: Record<string, number>
}

const INFO_FIELDS = [
  "used_memory", "used_memory_dataset", "used_memory_overhead", "used_memory_rss", "mem_fragmentation_ratio",
  "allocator_frag_ratio", "used_memory_scripts", "used_memory_lua", "mem_clients_normal", "mem_replication_backlog"
]

const ENGINE_METRICS = [
  "strata_nodejs_heap_size_used_bytes", "strata_nodejs_heap_size_total_bytes", "strata_nodejs_external_memory_bytes",
  "strata_process_resident_memory_bytes", "strata_actors_in_memory"
]

const keyDetail = async (redis: Redis, key: string): Promise<KeyDetail | undefined> => {
  const type = await redis.type(key)
  if (type === "none") return undefined
  const bytes = Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0)
  if (type === "stream") {
    const groups = await groupsOf(redis, key)
    return { type, bytes, size: await redis.xlen(key), pending: groups.reduce((a, g) => a + g.pending, 0) }
  }
  if (type === "hash") return { type, bytes, size: await redis.hlen(key) }
  if (type === "zset") return { type, bytes, size: await redis.zcard(key) }
  if (type === "set") return { type, bytes, size: await redis.scard(key) }
  return { type, bytes }
}

const metricsOf = async (url: string | undefined): Promise<Record<string, number>> => {
  if (url === undefined) return {}
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
    const out: Record<string, number> = {}
    for (const line of text.split("\n")) {
      const [name, value] = line.split(" ")
      if (name !== undefined && ENGINE_METRICS.includes(name)) out[name] = Number(value)
    }
    return out
  } catch (e) {
    // A busy engine may not answer in time: that sample has no engine figures, and says so.
    return { metricsFailed: 1, [`error: ${(e as Error).message}`]: 1 }
  }
}

export const soakDetail = async (redis: Redis, prefix: string, metricsUrl: string | undefined): Promise<SoakDetail> => {
  const keys: Record<string, KeyDetail> = {}
  let cursor = "0"
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
    for (const key of found) {
      const d = await keyDetail(redis, key)
      if (d) keys[key.slice(prefix.length + 1)] = d
    }
    cursor = next
  } while (cursor !== "0")
  const info = await redis.info("memory")
  const redisFields: Record<string, number> = {}
  for (const f of INFO_FIELDS) {
    const m = new RegExp(`^${f}:([\\d.]+)`, "m").exec(info)
    if (m) redisFields[f] = Number(m[1])
  }
  const clients = { count: 0, omem: 0, totMem: 0, qbuf: 0 }
  for (const line of (await redis.client("LIST") as string).split("\n")) {
    if (!line.trim()) continue
    clients.count++
    clients.omem += Number(/ omem=(\d+)/.exec(line)?.[1] ?? 0)
    clients.totMem += Number(/ tot-mem=(\d+)/.exec(line)?.[1] ?? 0)
    clients.qbuf += Number(/ qbuf=(\d+)/.exec(line)?.[1] ?? 0)
  }
  return { keys, redis: redisFields, clients, engine: await metricsOf(metricsUrl) }
}
