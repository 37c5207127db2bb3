/**
 * Reading persisted actor snapshots of any symbols, wherever their partitions keep them:
 * one HMGET per partition touched (a partition's keys share one Cluster slot, two
 * partitions' keys do not), answers in the order asked. Read-only; the atomic step is the
 * only writer of snapshots. Answers are the stored text, in whichever version wrote it:
 * callers read it through machines/snapshot-codec.ts (`decodeActor`, `persistedLayer`).
 */
import type { Redis } from "ioredis"
import { partitionKeys } from "./keys.ts"
import { symbolPartition } from "./partition.ts"

export interface SnapshotPlace {
  readonly prefix: string
  /** The install's partition count. */
  readonly partitions: number
}

/** The stored snapshot of each symbol, null when it has none; symbols as the snapshots hash holds them (normalised). */
export const readSnapshots = async (redis: Redis, place: SnapshotPlace, symbols: readonly string[]): Promise<(string | null)[]> => {
  const out: (string | null)[] = new Array<string | null>(symbols.length).fill(null)
  const byPartition = new Map<number, number[]>()
  symbols.forEach((s, i) => {
    const p = place.partitions === 1 ? 0 : symbolPartition(s, place.partitions)
    const list = byPartition.get(p)
    if (list) list.push(i)
    else byPartition.set(p, [i])
  })
  for (const [p, indexes] of byPartition) {
    const values = await redis.hmget(partitionKeys(place.prefix, p, place.partitions).snapshots, ...indexes.map((i) => symbols[i]!))
    indexes.forEach((i, k) => { out[i] = values[k] ?? null })
  }
  return out
}
