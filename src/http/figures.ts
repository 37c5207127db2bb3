/**
 * One reading of the cumulative figures the dashboard's sampler turns into rates: the
 * persisted ingest counters (the partition's stats hash, which survive restarts), symbols
 * per layer, consumer-group backlogs, backfill rows and provider requests so far, and the
 * lifecycle and dead-letter entries added since the previous reading (read by tailing
 * their streams from the last ID seen). In a partitioned install every figure is the sum
 * over the partitions, and the backlogs are summed per kind of stream.
 * Reads only; keeps no history (sampler.ts does).
 */
import type { Redis } from "ioredis"
import { parseDeadLetter as parseBackfillDeadLetter } from "../../streams/backfill-dead-letter.ts"
import { groupBacklog } from "../../streams/consumer.ts"
import { StreamTail } from "../../streams/stream-read.ts"
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
  /** Every partition of the install (partition 0 alone in an install of one). */
  readonly partitions: readonly PartitionKeys[]
}

/** A partitioned install: the router reads the ingress stream, the engines their partitions'. */
const partitioned = (s: Pick<FigureSources, "partitions">): boolean => (s.partitions[0]?.count ?? 1) > 1

export const tableExists = async (sql: Sql, table: string): Promise<boolean> =>
  Boolean((await sql<{ ok: boolean }[]>`SELECT to_regclass(${table}) IS NOT NULL AS ok`)[0]?.ok)

/**
 * Symbols per layer: companies rows for layers 1-3; layer 0 is every actor the snapshots
 * hash knows minus those (symbols never qualified have no companies row).
 */
export const layerCounts = async (redis: Redis, sql: Sql, snapshots: string | readonly string[]): Promise<[number, number, number, number]> => {
  const [actors, rows] = await Promise.all([
    actorCount(redis, snapshots),
    sql<{ layer: number; n: number }[]>`SELECT layer::int AS layer, count(*)::int AS n FROM companies GROUP BY layer`
  ])
  const out: [number, number, number, number] = [0, 0, 0, 0]
  for (const r of rows) if (r.layer >= 1 && r.layer <= 3) out[r.layer] = r.n
  out[0] = Math.max(0, actors - out[1] - out[2] - out[3])
  return out
}

/** Actors held in one snapshots hash, or in several (every partition's). */
export const actorCount = async (redis: Redis, snapshots: string | readonly string[]): Promise<number> =>
  (await Promise.all((typeof snapshots === "string" ? [snapshots] : snapshots).map((k) => redis.hlen(k)))).reduce((a, b) => a + b, 0)

/** The sum of numeric fields over the partitions' stats hashes. */
export const persistedStats = async (redis: Redis, partitions: readonly PartitionKeys[]): Promise<Record<string, number>> => {
  const out: Record<string, number> = {}
  for (const hash of await Promise.all(partitions.map((k) => redis.hgetall(k.stats)))) {
    for (const [k, v] of Object.entries(hash)) if (Number.isFinite(Number(v))) out[k] = (out[k] ?? 0) + Number(v)
  }
  return out
}

/**
 * The streams and groups whose backlog the dashboard shows, labelled "stream (group)". In
 * a partitioned install: the ingress stream's router group, and each kind of partition
 * stream summed over the partitions ("every partition's lifecycle (strata-projector)"), the
 * direct scores streams apart from the router-filled ones.
 */
export const backlogs = async (redis: Redis, ingress: IngressKeys, partitions: readonly PartitionKeys[]): Promise<Record<string, number | null>> => {
  const out: Record<string, number | null> = {}
  const backlog = async (stream: string, group: string) => (await groupBacklog(redis, stream, group)) ?? null
  if (!partitioned({ partitions })) {
    const keys = partitions[0]!
    const streams = [[ingress.scores, GROUPS.engine], [keys.lifecycle, GROUPS.projector], [keys.backfill, GROUPS.workers]] as const
    for (const [stream, group] of streams) out[`${stream} (${group})`] = await backlog(stream, group)
    return out
  }
  out[`${ingress.scores} (${GROUPS.router})`] = await backlog(ingress.scores, GROUPS.router)
  const kinds = [["scores", "scores", GROUPS.engine], ["scoresDirect", "direct scores", GROUPS.engine],
    ["lifecycle", "lifecycle", GROUPS.projector], ["backfill", "backfill", GROUPS.workers]] as const
  for (const [kind, label, group] of kinds) {
    const each = await Promise.all(partitions.map((k) => backlog(k[kind], group)))
    // Null only while no partition's group exists yet.
    out[`every partition's ${label} (${group})`] = each.every((v) => v === null) ? null : each.reduce<number>((a, v) => a + (v ?? 0), 0)
  }
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
  private readonly lifecycle: readonly StreamTail[]
  private readonly scoresDead: readonly StreamTail[]
  private readonly backfillDead: readonly StreamTail[]
  private readonly reasons = new Set<string>()

  constructor(private readonly s: FigureSources) {
    const tails = (keys: readonly string[]) => keys.map((k) => new StreamTail(s.redis, k))
    this.lifecycle = tails(s.partitions.map((k) => k.lifecycle))
    // A partition's own scores dead letters exist in a partitioned install only.
    this.scoresDead = tails([s.ingress.scoresDead, ...(partitioned(s) ? s.partitions.map((k) => k.scoresDead) : [])])
    this.backfillDead = tails(s.partitions.map((k) => k.backfillDead))
  }

  private classOf(reason: string): string {
    if (this.reasons.has(reason)) return reason
    if (this.reasons.size >= MAX_REASONS) return "other"
    this.reasons.add(reason)
    return reason
  }

  async read(): Promise<Reading> {
    const { redis, sql, ingress, partitions } = this.s
    const readAll = async (tails: readonly StreamTail[]) => (await Promise.all(tails.map((t) => t.read()))).flat()
    const [stats, layers, backlog, progress, lifecycle, scoresDead, backfillDead] = await Promise.all([
      persistedStats(redis, partitions),
      layerCounts(redis, sql, partitions.map((k) => k.snapshots)),
      backlogs(redis, ingress, partitions),
      tableExists(sql, "backfill_progress").then(async (exists) => exists
        ? (await sql<{ written: number; requests: number }[]>`
            SELECT coalesce(sum(written), 0)::float8 AS written, coalesce(sum(requests), 0)::float8 AS requests FROM backfill_progress`)[0]
        : undefined),
      readAll(this.lifecycle),
      readAll(this.scoresDead),
      readAll(this.backfillDead)
    ])
    const transitionsTo: [number, number, number, number] = [0, 0, 0, 0]
    // Each stream is tailed through streams/stream-read.ts (StreamTail: at most 5,000 entries a
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
