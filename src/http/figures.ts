/**
 * One reading of the cumulative figures the dashboard's sampler turns into rates: the
 * persisted ingest counters (the partition's stats hash, which survive restarts), symbols
 * per layer, consumer-group backlogs, backfill rows and provider requests so far, and the
 * lifecycle and dead-letter entries added since the previous reading (read by tailing
 * their streams from the last ID seen).
 * Reads only; keeps no history (sampler.ts does).
 */
import type { Redis } from "ioredis"
import { parseDeadLetter as parseBackfillDeadLetter } from "../../streams/backfill-dead-letter.ts"
import { StreamTail, groupBacklog } from "../../streams/consumer.ts"
import { parseDeadLetter } from "../../streams/dead-letter.ts"
import { GROUPS, type IngressKeys, type PartitionKeys } from "../../streams/keys.ts"
import { decodeLifecycleEntry } from "../../streams/lifecycle-wire.ts"
import type { Sql } from "../services/postgres.ts"

export interface Reading {
  /** Persisted counters of the partition's stats hash (entries, applied, dead, ...). */
  readonly stats: Readonly<Record<string, number>>
  readonly layers: readonly [number, number, number, number]
  readonly backlog: Readonly<Record<string, number | null>>
  /** Sums over backfill_progress; undefined before any worker created the table. */
  readonly backfill: { readonly written: number; readonly requests: number } | undefined
  /** Lifecycle events read since the previous reading, by the layer they moved to. */
  readonly transitionsTo: readonly [number, number, number, number]
  /** Dead letters added since the previous reading, by reason class. */
  readonly deadByReason: Readonly<Record<string, number>>
}

export interface FigureSources {
  readonly redis: Redis
  readonly sql: Sql
  readonly ingress: IngressKeys
  readonly keys: PartitionKeys
}

export const tableExists = async (sql: Sql, table: string): Promise<boolean> =>
  Boolean((await sql<{ ok: boolean }[]>`SELECT to_regclass(${table}) IS NOT NULL AS ok`)[0]?.ok)

/**
 * Symbols per layer: companies rows for layers 1-3; layer 0 is every actor the snapshots
 * hash knows minus those (symbols never qualified have no companies row).
 */
export const layerCounts = async (redis: Redis, sql: Sql, snapshots: string): Promise<[number, number, number, number]> => {
  const [actors, rows] = await Promise.all([
    redis.hlen(snapshots),
    sql<{ layer: number; n: number }[]>`SELECT layer::int AS layer, count(*)::int AS n FROM companies GROUP BY layer`
  ])
  const out: [number, number, number, number] = [0, 0, 0, 0]
  for (const r of rows) if (r.layer >= 1 && r.layer <= 3) out[r.layer] = r.n
  out[0] = Math.max(0, actors - out[1] - out[2] - out[3])
  return out
}

/** The streams and groups whose backlog the dashboard shows, labelled "stream (group)". */
export const backlogs = async (redis: Redis, ingress: IngressKeys, keys: PartitionKeys): Promise<Record<string, number | null>> => {
  const streams = [[ingress.scores, GROUPS.engine], [keys.lifecycle, GROUPS.projector], [keys.backfill, GROUPS.workers]] as const
  const out: Record<string, number | null> = {}
  for (const [stream, group] of streams) out[`${stream} (${group})`] = (await groupBacklog(redis, stream, group)) ?? null
  return out
}

// Reasons carry the offending value ("invalid symbol \"x\": ..."): the class is the
// leading words, so a flood of distinct bad values makes one series, not thousands.
export const reasonClass = (reason: string): string => {
  const words = /^[A-Za-z][A-Za-z ]*/.exec(reason.trim())?.[0].trim() ?? ""
  return (words || "unknown").slice(0, 40)
}

// At most this many reason series; rarer classes are counted as "other".
const MAX_REASONS = 12

export class FigureReader {
  private readonly lifecycle: StreamTail
  private readonly scoresDead: StreamTail
  private readonly backfillDead: StreamTail
  private readonly reasons = new Set<string>()

  constructor(private readonly s: FigureSources) {
    this.lifecycle = new StreamTail(s.redis, s.keys.lifecycle)
    this.scoresDead = new StreamTail(s.redis, s.ingress.scoresDead)
    this.backfillDead = new StreamTail(s.redis, s.keys.backfillDead)
  }

  private classOf(reason: string): string {
    if (this.reasons.has(reason)) return reason
    if (this.reasons.size >= MAX_REASONS) return "other"
    this.reasons.add(reason)
    return reason
  }

  async read(): Promise<Reading> {
    const { redis, sql, ingress, keys } = this.s
    const [statsHash, layers, backlog, progress, lifecycle, scoresDead, backfillDead] = await Promise.all([
      redis.hgetall(keys.stats),
      layerCounts(redis, sql, keys.snapshots),
      backlogs(redis, ingress, keys),
      tableExists(sql, "backfill_progress").then(async (exists) => exists
        ? (await sql<{ written: number; requests: number }[]>`
            SELECT coalesce(sum(written), 0)::float8 AS written, coalesce(sum(requests), 0)::float8 AS requests FROM backfill_progress`)[0]
        : undefined),
      this.lifecycle.read(),
      this.scoresDead.read(),
      this.backfillDead.read()
    ])
    const stats: Record<string, number> = {}
    for (const [k, v] of Object.entries(statsHash)) if (Number.isFinite(Number(v))) stats[k] = Number(v)
    const transitionsTo: [number, number, number, number] = [0, 0, 0, 0]
    // Each stream is tailed through streams/consumer.ts (StreamTail: at most 5,000 entries a
    // read, so a flood cannot stall a sample) and read through its own decoder; an entry
    // that does not decode is the projector's to dead-letter, not a transition.
    for (const entry of lifecycle) {
      const d = decodeLifecycleEntry(entry)
      if (d.ok) transitionsTo[d.event.to]++
    }
    const deadByReason: Record<string, number> = {}
    const count = (name: string) => { deadByReason[name] = (deadByReason[name] ?? 0) + 1 }
    for (const e of scoresDead) count(this.classOf(`scores: ${reasonClass(parseDeadLetter(e.fields)?.reason ?? "")}`))
    for (const e of backfillDead) count(this.classOf(`backfill: ${reasonClass(parseBackfillDeadLetter(e.fields)?.error ?? "")}`))
    return { stats, layers, backlog, backfill: progress, transitionsTo, deadByReason }
  }
}
