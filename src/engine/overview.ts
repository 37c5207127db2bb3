/**
 * What the dashboard and `GET /api/overview` show, gathered in one read: symbols per
 * layer, recent transitions, backfill progress, consumer-group backlogs, ingest counters
 * and commit latency. Read only; every figure comes from Redis, PostgreSQL or the
 * process's own counters.
 */
import type { Redis } from "ioredis"
import type { Sql } from "../services/postgres.ts"
import { groupBacklog } from "../../streams/consumer.ts"
import { GROUPS } from "../../streams/keys.ts"
import type { Ingest } from "./ingest.ts"
import type { Projector } from "./projector.ts"

export interface Overview {
  readonly layers: Record<"0" | "1" | "2" | "3", number>
  readonly actors: number
  readonly transitions: readonly { symbol: string; type: string; from: number; to: number; at: number }[]
  readonly backfill: {
    readonly byStatus: Record<string, number>
    readonly recent: readonly { command_id: string; symbol: string; layer: number; status: string; planned: number; done: number; written: number; failed: number }[]
  }
  readonly backlog: Record<string, number | null>
  readonly ingest: Ingest["stats"]
  readonly projected: number
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly count: number }
}

export interface OverviewDeps {
  readonly redis: Redis
  readonly sql: Sql
  readonly ingest: Ingest
  readonly projector: Projector
  readonly latency: () => Promise<Overview["latencyMs"]>
}

export const overview = async (d: OverviewDeps): Promise<Overview> => {
  const { keys, ingress } = d.ingest
  const [actors, byLayer, transitions, progressExists] = await Promise.all([
    d.redis.hlen(keys.snapshots),
    d.sql<{ layer: number; n: number }[]>`SELECT layer::int AS layer, count(*)::int AS n FROM companies GROUP BY layer`,
    d.sql<{ symbol: string; type: string; from: number; to: number; at: number }[]>`
      SELECT symbol, event_type AS type, from_layer::int AS "from", to_layer::int AS "to", at_ms::float8 AS at
      FROM layer_transitions ORDER BY at_ms DESC, cause DESC LIMIT 20`,
    d.sql`SELECT to_regclass('backfill_progress') IS NOT NULL AS ok`
  ])
  const layers = { "0": 0, "1": 0, "2": 0, "3": 0 }
  for (const r of byLayer) layers[String(r.layer) as keyof typeof layers] = r.n
  // Symbols never qualified have no companies row; the actors know them all.
  layers["0"] = Math.max(0, actors - layers["1"] - layers["2"] - layers["3"])
  let backfill: Overview["backfill"] = { byStatus: {}, recent: [] }
  if (progressExists[0]?.["ok"]) {
    const [byStatus, recent] = await Promise.all([
      d.sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM backfill_progress GROUP BY status`,
      d.sql<Overview["backfill"]["recent"][number][]>`
        SELECT command_id, symbol, layer::int AS layer, status, planned::int AS planned, done::int AS done,
               written::float8 AS written, failed::int AS failed
        FROM backfill_progress ORDER BY (status IN ('done', 'shrunk', 'cancelled', 'dead')), updated_at DESC LIMIT 10`
    ])
    backfill = { byStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])), recent }
  }
  const streams = [[ingress.scores, GROUPS.engine], [keys.lifecycle, GROUPS.projector], [keys.backfill, GROUPS.workers]] as const
  const backlog: Record<string, number | null> = {}
  for (const [stream, group] of streams) backlog[`${stream} (${group})`] = (await groupBacklog(d.redis, stream, group)) ?? null
  return {
    layers, actors, transitions: transitions.map((t) => ({ ...t })), backfill, backlog,
    ingest: { ...d.ingest.stats }, projected: d.projector.projected, latencyMs: await d.latency()
  }
}
