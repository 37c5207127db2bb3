/**
 * The synthetic provider: deterministic, seeded rows for every kind and interval (see
 * synthetic-data.ts), offline. The default provider and the bench's. One fetch counts as
 * one request and passes through the shared limiter like any other provider's.
 */
import type { RowsOf, StorageKind } from "../../domain/rows.ts"
import { Terminal } from "../errors.ts"
import type { Limiter } from "../rate-limit.ts"
import type { FetchRequest, FetchResult, FetchSession, Provider } from "./provider.ts"
import { syntheticActions, syntheticBars, syntheticNews, syntheticSentiment } from "./synthetic-data.ts"

export const rowsOf = <K extends StorageKind>(seed: number, req: FetchRequest & { readonly kind: K }): RowsOf[K][] => {
  const r = { from: req.from, to: req.to }
  switch (req.kind) {
    case "bars":
      if (req.interval === "") throw new Terminal({ message: "a bars request needs an interval" })
      return syntheticBars(seed, req.symbol, req.interval, r) as RowsOf[K][]
    case "news": return syntheticNews(seed, req.symbol, r) as RowsOf[K][]
    case "corporate_actions": return syntheticActions(seed, req.symbol, r) as RowsOf[K][]
    case "social_sentiment": return syntheticSentiment(seed, req.symbol, r) as RowsOf[K][]
  }
  throw new Terminal({ message: `unknown kind ${String(req.kind)}` })
}

export const syntheticProvider = (seed: number, limiter: Limiter): Provider & { readonly requests: () => number } => {
  let requests = 0
  return {
    name: "synthetic",
    supports: () => true,
    requests: () => requests,
    fetch: (req, session?: FetchSession) => limiter.schedule(async () => {
      requests++
      if (session) session.requests++
      return { rows: rowsOf(seed, req), requests: 1 } satisfies FetchResult<typeof req.kind>
    })
  }
}
