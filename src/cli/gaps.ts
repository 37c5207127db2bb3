/**
 * `strata gaps` and `strata heal`: the trading sessions owed but missing (per series and
 * tier), and one healing pass that refetches exactly those. Both judge the symbols the
 * companies table holds at L1 or above (or `--symbols`), at their current layer, with the
 * calendar of the configured provider. Exit 2 on bad options.
 */
import type { Config, DataType } from "../../config/schema.ts"
import { PROGRESS_DDL } from "../backfill/progress.ts"
import { openProvider } from "../backfill/providers/index.ts"
import { parseEventTime } from "../domain/time.ts"
import { findGaps, type GapsReport } from "../heal/gaps.ts"
import { healPass } from "../heal/heal.ts"
import { HEAL_DDL } from "../heal/ledger.ts"
import { BAR_DATA_TYPES } from "../heal/owed.ts"
import { layersToJudge, providerCalendar } from "../heal/schedule.ts"
import { migrate } from "../services/postgres.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { withConnections, type Connections } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"

export interface GapsOptions { config?: string; symbols?: string; dataTypes?: string; at?: string; json?: boolean }

class UsageError extends Error {}

const options = (opts: GapsOptions): { now: number; symbols: string[] | undefined; dataTypes: DataType[] } => {
  const now = opts.at === undefined ? Date.now() : parseEventTime(opts.at)
  if (now === undefined) throw new UsageError(`--at: expected ms since the epoch or an ISO-8601 time, got "${opts.at}"`)
  const symbols = opts.symbols?.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "")
  const dataTypes = (opts.dataTypes?.split(",").map((s) => s.trim()).filter((s) => s !== "") ?? [...BAR_DATA_TYPES]) as DataType[]
  const other = dataTypes.filter((d) => !BAR_DATA_TYPES.includes(d))
  if (other.length > 0) throw new UsageError(`--data-types: sessions are judged for bars only (${BAR_DATA_TYPES.join(", ")}), not ${other.join(", ")}`)
  return { now, symbols, dataTypes }
}

/** Connections, the lake and the query of a gaps/heal run; closes them after `fn`. */
const withRun = async <T>(config: Config, opts: GapsOptions, fn: (run: {
  conn: Connections; store: ObjectStore; query: Parameters<typeof findGaps>[1]
}) => Promise<T>): Promise<T | undefined> => {
  let parsed
  try {
    parsed = options(opts)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    process.stderr.write(`${e.message}\n`)
    process.exitCode = 2
    return undefined
  }
  return await withConnections(config, async (conn) => {
    await migrate(conn.sql, config.postgres.schema, [...STORAGE_DDL, ...PROGRESS_DDL, ...HEAL_DDL])
    const layers = await layersToJudge(conn.redis, conn.sql, { prefix: config.redis.prefix, partitions: config.partitions }, parsed.symbols)
    const query = { policy: config.retention, calendar: providerCalendar(config), now: parsed.now, layers, dataTypes: parsed.dataTypes }
    return await fn({ conn, store: conn.store, query })
  })
}

const printGaps = (r: GapsReport): void => {
  for (const g of r.gaps) {
    process.stdout.write(`${g.symbol.padEnd(8)} ${g.interval.padEnd(5)} ${g.session}  ${g.tier.padEnd(4)}  ` +
      `held ${Math.max(g.hot, g.cold)}/${g.expected} (hot ${g.hot}, cold ${g.cold})${g.exhausted ? "  healing gave up" : ""}\n`)
  }
  process.stdout.write(`${r.gaps.length} sessions missing bars, of ${r.sessions} owed over ${r.series} series of ${r.symbols} symbols ` +
    `(calendar ${r.calendar}${r.recorded > 0 ? `; ${r.recorded} recorded as empty at the provider` : ""})\n`)
}

export const gapsCommand = oneShot("gaps", async (opts: GapsOptions): Promise<void> => {
  const config = configOrExit(opts.config)
  await withRun(config, opts, async ({ conn, store, query }) => {
    const report = await findGaps({ sql: conn.sql, store }, query)
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    else printGaps(report)
  })
})

export const healCommand = oneShot("heal", async (opts: GapsOptions): Promise<void> => {
  const config = configOrExit(opts.config)
  await withRun(config, opts, async ({ conn, store, query }) => {
    const { provider, limiter } = openProvider(config, conn.redisUrl)
    try {
      const unsettled = (what: string, err: unknown) => process.stderr.write(`progress write failed (${what}): ${String(err)}\n`)
      const pass = await healPass({ sql: conn.sql, store, provider, backfill: config.backfill, unsettled }, query, config.backfill.heal.max_attempts)
      if (opts.json) process.stdout.write(`${JSON.stringify(pass)}\n`)
      else if (!pass.ran) process.stdout.write("another healing pass is running; nothing done\n")
      else {
        const h = pass.heal!
        process.stdout.write(`${pass.gaps!.gaps.length} sessions missing; fetched ${h.fetched}: healed ${h.healed}, ` +
          `recorded empty ${h.recorded}, still missing ${h.open}, given up ${h.exhausted}; left alone ${h.skipped}\n`)
      }
    } finally {
      await limiter.close()
    }
  })
})
