/**
 * Healing as the workers run it: which symbols are judged (those the companies table holds
 * at L1 or above, each at the layer of its actor snapshot when it has one) and the fiber
 * that runs a healing pass every `backfill.heal.every` (none for 0). A failed pass is
 * logged and counted; the next one runs on schedule.
 */
import { Effect, Schedule } from "effect"
import type { Config, DataType } from "../../config/schema.ts"
import { calendarOf } from "../domain/calendar.ts"
import type { Layer } from "../domain/layers.ts"
import { parseDuration } from "../domain/time.ts"
import { symbolLayers } from "../engine/tiering.ts"
import type { Logger } from "../services/logger.ts"
import type { Redis } from "../services/redis.ts"
import type { Sql } from "../services/postgres.ts"
import type { SnapshotPlace } from "../../streams/snapshots-read.ts"
import { healPass, type HealDeps } from "./heal.ts"
import { BAR_DATA_TYPES } from "./owed.ts"

/** Layers of the symbols to judge: the given ones, else every symbol companies holds at L1+. */
export const layersToJudge = async (
  redis: Redis, sql: Sql, place: SnapshotPlace, symbols?: readonly string[]
): Promise<Map<string, Layer>> => {
  let list = symbols
  if (list === undefined) {
    try {
      list = (await sql<{ symbol: string }[]>`SELECT symbol FROM companies WHERE layer >= 1 ORDER BY symbol`).map((r) => r.symbol)
    } catch (e) {
      // No companies table (storage used without the engine): no symbol is known.
      if ((e as { code?: string }).code !== "42P01") throw e
      list = []
    }
  }
  const out = new Map<string, Layer>()
  const layersOf = symbolLayers(redis, sql, place)
  for (let i = 0; i < list.length; i += 1000) for (const [s, l] of await layersOf(list.slice(i, i + 1000))) out.set(s, l)
  return out
}

/** The calendar the configured provider's bars follow. */
export const providerCalendar = (config: Config) => calendarOf(config.providers[config.backfill.provider].calendar)

export interface HealCounters { passes: number; failures: number; fetched: number }

/** Scheduled healing passes (the first one `every` after start, when the backlog has had its turn). */
export const healFiber = (
  deps: HealDeps & { readonly redis: Redis; readonly log: Logger }, config: Config, clock: () => number = Date.now,
  dataTypes: readonly DataType[] = BAR_DATA_TYPES
) => {
  const every = parseDuration(config.backfill.heal.every) ?? 0
  const counters: HealCounters = { passes: 0, failures: 0, fetched: 0 }
  if (every <= 0) return Effect.succeed(counters)
  const pass = Effect.tryPromise(async () => {
    const layers = await layersToJudge(deps.redis, deps.sql, { prefix: config.redis.prefix, partitions: config.partitions })
    return healPass(deps, { policy: config.retention, calendar: providerCalendar(config), now: clock(), layers, dataTypes }, config.backfill.heal.max_attempts)
  }).pipe(
    Effect.tap((r) => Effect.sync(() => {
      counters.passes++
      counters.fetched += r.heal?.fetched ?? 0
      if (r.ran) deps.log.info({ gaps: r.gaps?.gaps.length, ...r.heal, sessions: undefined }, "healing pass done")
    })),
    Effect.catchCause((cause) => Effect.sync(() => {
      counters.failures++
      deps.log.error({ cause: String(cause), failures: counters.failures }, "healing pass failed; the next one runs on schedule")
    }))
  )
  const loop = Effect.gen(function* () {
    yield* Effect.sleep(every)
    yield* pass.pipe(Effect.repeat(Schedule.spaced(every)))
  })
  return Effect.forkScoped(loop).pipe(Effect.as(counters))
}
