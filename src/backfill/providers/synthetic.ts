/**
 * The synthetic provider: deterministic, seeded rows for every kind and interval (see
 * synthetic-data.ts), offline. The default provider and the bench's. One fetch counts as
 * one request and passes through the shared limiter like any other provider's.
 * Bars follow the configured trading calendar, and nothing is served from the future: a
 * bar only once it is complete (its end, or the session's close, at or before the
 * provider's clock), other rows once their time has come. The clock is injectable
 * (tests); the rows stay a pure function of (seed, request, calendar, clock reading).
 */
import type { Calendar } from "../../domain/calendar.ts"
import { barEnd } from "../../domain/calendar.ts"
import type { Bar, RowsOf, StorageKind } from "../../domain/rows.ts"
import { rowTime } from "../../domain/rows.ts"
import { Terminal } from "../errors.ts"
import type { Limiter } from "../rate-limit.ts"
import type { FetchRequest, FetchResult, FetchSession, Provider } from "./provider.ts"
import { SYNTHETIC_CALENDAR, syntheticActions, syntheticBars, syntheticNews, syntheticSentiment } from "./synthetic-data.ts"

export interface SyntheticOptions {
  readonly calendar?: Calendar
  /** The provider's clock, UTC ms (default Date.now). */
  readonly now?: () => number
}

const rowsFor = <K extends StorageKind>(seed: number, req: FetchRequest & { readonly kind: K }, cal: Calendar): RowsOf[K][] => {
  const r = { from: req.from, to: req.to }
  switch (req.kind) {
    case "bars":
      if (req.interval === "") throw new Terminal({ message: "a bars request needs an interval" })
      return syntheticBars(seed, req.symbol, req.interval, r, cal) as RowsOf[K][]
    case "news": return syntheticNews(seed, req.symbol, r) as RowsOf[K][]
    case "corporate_actions": return syntheticActions(seed, req.symbol, r, cal) as RowsOf[K][]
    case "social_sentiment": return syntheticSentiment(seed, req.symbol, r) as RowsOf[K][]
  }
  throw new Terminal({ message: `unknown kind ${String(req.kind)}` })
}

/** Whether a row is complete at `now`: a bar once its period (or its session) has ended. */
const settled = (kind: StorageKind, cal: Calendar, now: number) => (row: RowsOf[StorageKind]): boolean => {
  if (kind !== "bars") return (rowTime[kind] as (r: RowsOf[StorageKind]) => number)(row) <= now
  const bar = row as Bar
  const session = cal.sessionOn(bar.interval === "1day" ? bar.ts : Math.floor(bar.ts / 86_400_000) * 86_400_000)
  return session !== undefined && barEnd(session, bar.interval, bar.ts) <= now
}

/** The rows a request gets from the synthetic provider whose clock reads `now` (default: no limit). */
export const rowsOf = <K extends StorageKind>(
  seed: number, req: FetchRequest & { readonly kind: K }, options: { readonly calendar?: Calendar; readonly now?: number } = {}
): RowsOf[K][] => {
  const cal = options.calendar ?? SYNTHETIC_CALENDAR
  const rows = rowsFor(seed, req, cal)
  const now = options.now
  return now === undefined ? rows : rows.filter(settled(req.kind, cal, now)) as RowsOf[K][]
}

export const syntheticProvider = (seed: number, limiter: Limiter, options: SyntheticOptions = {}): Provider & { readonly requests: () => number } => {
  let requests = 0
  const calendar = options.calendar ?? SYNTHETIC_CALENDAR
  const now = options.now ?? Date.now
  return {
    name: "synthetic",
    supports: () => true,
    requests: () => requests,
    fetch: (req, session?: FetchSession) => limiter.schedule(async () => {
      requests++
      if (session) session.requests++
      return { rows: rowsOf(seed, req, { calendar, now: now() }), requests: 1 } satisfies FetchResult<typeof req.kind>
    })
  }
}
