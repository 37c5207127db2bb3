/**
 * The healing pass: find the gaps (gaps.ts) and refetch exactly those sessions, one fetch
 * task per session through the backfill's own execute path (`runTask`: the shared rate
 * limiter, the retry schedule, routing by the window's hot boundary, coverage, progress
 * under a `heal-…` command per symbol). Each fetch is recorded in the ledger (ledger.ts):
 * a session answered empty (or short) twice is recorded and never fetched again, and one
 * whose fetches keep failing is left after `heal.max_attempts`. One pass at a time across
 * processes (a PostgreSQL advisory lock; a pass that finds it taken does nothing).
 * Does not decide what is owed (owed.ts) nor count rows (session-counts.ts).
 */
import { Effect, Exit } from "effect"
import type { BackfillConfig } from "../../config/schema.ts"
import { runTask, type Unsettled } from "../backfill/execute.ts"
import { finishCommand, registerCommands, setPlanned } from "../backfill/progress.ts"
import type { Provider } from "../backfill/providers/provider.ts"
import { DAY_MS } from "../domain/time.ts"
import { openSession, type Sql } from "../services/postgres.ts"
import type { ObjectStore } from "../storage/object-store.ts"
import { findGaps, type GapsQuery, type GapsReport, type SessionGap } from "./gaps.ts"
import { recordAttempt, type SessionStatus } from "./ledger.ts"

export const HEAL_CAUSE = "heal"

export interface HealDeps {
  readonly sql: Sql
  readonly store: ObjectStore
  readonly provider: Provider
  readonly backfill: BackfillConfig
  readonly unsettled: Unsettled
}

export interface HealReport {
  /** Sessions fetched in this pass. */
  readonly fetched: number
  readonly healed: number
  /** Sessions the provider has now answered short twice: recorded, not fetched again. */
  readonly recorded: number
  /** Sessions fetched without success (failed, or answered short once). */
  readonly open: number
  readonly exhausted: number
  /** Gaps left alone: healing gave up on them earlier. */
  readonly skipped: number
  readonly sessions: readonly { symbol: string; interval: string; session: string; outcome: SessionStatus | "healed" }[]
}

export interface HealPass {
  /** False when another pass held the lock: nothing was done. */
  readonly ran: boolean
  readonly gaps?: GapsReport
  readonly heal?: HealReport
}

const LOCK = "strata|heal-pass"

/**
 * Run `fn` if this process can take the pass lock now; undefined when another holds it.
 * The lock lives on a session of its own (see `openSession`); `fn` uses the pool.
 */
const whenUnlocked = async <T>(sql: Sql, fn: () => Promise<T>): Promise<T | undefined> => {
  const session = openSession(sql)
  try {
    const [got] = await session.sql<{ ok: boolean }[]>`SELECT pg_try_advisory_lock(hashtext(${LOCK})) AS ok`
    if (!got?.ok) return undefined
    const out = await fn()
    await session.sql`SELECT pg_advisory_unlock(hashtext(${LOCK}))`
    return out
  } finally {
    // Ending the session releases the lock whatever happened.
    await session.end()
  }
}

/** Refetch the sessions of `gaps`, one task each; gaps healing gave up on are skipped. */
export const healGaps = async (deps: HealDeps, gaps: readonly SessionGap[], maxAttempts: number, now: number): Promise<HealReport> => {
  const todo = gaps.filter((g) => !g.exhausted && deps.provider.supports("bars", g.interval))
  const bySymbol = new Map<string, SessionGap[]>()
  for (const g of todo) {
    const list = bySymbol.get(g.symbol)
    if (list) list.push(g)
    else bySymbol.set(g.symbol, [g])
  }
  const sessions: { symbol: string; interval: string; session: string; outcome: SessionStatus | "healed" }[] = []
  for (const [symbol, list] of bySymbol) {
    const first = list[0] as SessionGap
    const commandId = `heal-${now}-${symbol}`
    const dataTypes = [...new Set(list.flatMap((g) => g.dataTypes))]
    await registerCommands(deps.sql, [{ id: commandId, symbol, layer: first.layer, from: first.layer, dataTypes, at: now, cause: HEAL_CAUSE, priority: first.layer }])
    await setPlanned(deps.sql, commandId, list.length, 0, first.layer)
    for (const g of list) {
      const task = {
        symbol, kind: "bars" as const, interval: g.interval, from: g.day, to: g.day + DAY_MS,
        tier: g.tier, hotFrom: g.hotFrom, priority: g.layer
      }
      const exit = await Effect.runPromiseExit(runTask(deps, commandId, task))
      const answer = Exit.isSuccess(exit) ? { rows: exit.value.fetched } : { error: String(Exit.isFailure(exit) ? exit.cause : "unknown") }
      const attempt = { symbol, interval: g.interval, day: g.day, session: g.session, expected: g.expected }
      sessions.push({ symbol, interval: g.interval, session: g.session, outcome: await recordAttempt(deps.sql, attempt, answer, maxAttempts) })
    }
    await finishCommand(deps.sql, commandId, "done")
  }
  const count = (o: SessionStatus | "healed" | readonly (SessionStatus | "healed")[]) =>
    sessions.filter((s) => (Array.isArray(o) ? o.includes(s.outcome) : s.outcome === o)).length
  return {
    fetched: sessions.length, healed: count("healed"), recorded: count(["empty", "short"]), open: count("open"),
    exhausted: count("exhausted"), skipped: gaps.length - todo.length, sessions
  }
}

/** One healing pass: gaps, then their refetch, under the pass lock. */
export const healPass = async (deps: HealDeps, query: GapsQuery, maxAttempts: number): Promise<HealPass> => {
  const result = await whenUnlocked(deps.sql, async () => {
    const gaps = await findGaps(deps, query)
    const heal = await healGaps(deps, gaps.gaps, maxAttempts, query.now)
    return { ran: true, gaps, heal }
  })
  return result ?? { ran: false }
}
