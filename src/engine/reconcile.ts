/**
 * Reconcile: compare every actor's layer (the snapshots hash) with the companies
 * projection. Zero divergence is the proof that the projection equals the actors once the
 * projector has caught up; the projector's lag is reported beside it so a non-zero
 * divergence while the projector is behind is not mistaken for a bug. In a partitioned
 * install every partition is read: the actors are the union of the partitions' snapshots
 * hashes (a symbol lives in one partition), the projector's lag the sum over their
 * lifecycle streams, and `partitions` says what each holds.
 */
import type { Redis } from "ioredis"
import type { Sql } from "../services/postgres.ts"
import type { PartitionKeys } from "../../streams/keys.ts"
import { groupBacklog } from "../../streams/consumer.ts"
import { fieldRecord } from "../../streams/entry.ts"
import { GROUPS } from "../../streams/keys.ts"
import { persistedLayer } from "../../machines/lifecycle.ts"

export interface Divergence {
  readonly symbol: string
  readonly actorLayer: number
  readonly companiesLayer: number
}

export interface ReconcileReport {
  readonly actors: number
  readonly companies: number
  /** Lifecycle entries the projector has not yet acknowledged (pending + not yet read). */
  readonly projectorBehind: number
  readonly divergent: readonly Divergence[]
  /** Per partition read (a partitioned install): its actors and its projector's lag. */
  readonly partitions?: readonly { readonly partition: number; readonly actors: number; readonly projectorBehind: number }[]
}

export const actorLayers = async (redis: Redis, snapshotsKey: string): Promise<Map<string, number>> => {
  const layers = new Map<string, number>()
  let cursor = "0"
  do {
    const [next, flat] = await redis.hscan(snapshotsKey, cursor, "COUNT", 2000)
    // An HSCAN page is a flat name/value list like an entry's: folded by the one fold there is.
    for (const [symbol, snapshot] of Object.entries(fieldRecord(flat))) layers.set(symbol, persistedLayer(snapshot) ?? 0)
    cursor = next
  } while (cursor !== "0")
  return layers
}

export const projectorBehind = async (redis: Redis, lifecycleStream: string): Promise<number> => {
  if ((await redis.exists(lifecycleStream)) === 0) return 0
  // No projector group yet: every entry is still to be projected.
  return (await groupBacklog(redis, lifecycleStream, GROUPS.projector)) ?? Number(await redis.xlen(lifecycleStream))
}

/** Compare the actors of one partition (`keys`), or of every partition given, with the companies table. */
export const reconcile = async (redis: Redis, sql: Sql, keys: PartitionKeys | readonly PartitionKeys[]): Promise<ReconcileReport> => {
  const parts = Array.isArray(keys) ? keys : [keys as PartitionKeys]
  const perPartition = await Promise.all(parts.map(async (k) => ({
    partition: k.partition, layers: await actorLayers(redis, k.snapshots), behind: await projectorBehind(redis, k.lifecycle)
  })))
  const actors = new Map<string, number>()
  for (const p of perPartition) for (const [symbol, layer] of p.layers) actors.set(symbol, layer)
  const rows = await sql<{ symbol: string; layer: number }[]>`SELECT symbol, layer FROM companies`
  const companies = new Map(rows.map((r) => [r.symbol, Number(r.layer)]))
  const divergent: Divergence[] = []
  for (const [symbol, layer] of actors) {
    const c = companies.get(symbol) ?? 0
    if (c !== layer) divergent.push({ symbol, actorLayer: layer, companiesLayer: c })
  }
  for (const [symbol, layer] of companies) {
    if (!actors.has(symbol)) divergent.push({ symbol, actorLayer: 0, companiesLayer: layer })
  }
  divergent.sort((a, b) => a.symbol.localeCompare(b.symbol))
  const projectorBehindAll = perPartition.reduce((n, p) => n + p.behind, 0)
  const report = { actors: actors.size, companies: companies.size, projectorBehind: projectorBehindAll, divergent }
  return Array.isArray(keys)
    ? { ...report, partitions: perPartition.map((p) => ({ partition: p.partition, actors: p.layers.size, projectorBehind: p.behind })) }
    : report
}
