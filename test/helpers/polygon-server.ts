/**
 * A local HTTP server that answers like Polygon's REST API (aggregates, news, splits,
 * dividends) with the synthetic provider's deterministic rows, pages results through
 * `next_url`, checks the Bearer key, counts and timestamps every request, and can be told
 * to answer the next requests (or the request for one page) with 429 + Retry-After, a 5xx,
 * or a 4xx whose body echoes the caller's key, as a careless provider does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { Interval } from "../../config/schema.ts"
import { syntheticActions, syntheticBars, syntheticNews } from "../../src/backfill/providers/synthetic-data.ts"

export interface LoggedRequest {
  /** Arrival, ms since the epoch with sub-ms precision. */
  readonly at: number
  readonly path: string
  /** Path and query without the paging cursor: the same logical request on a retry. */
  readonly key: string
  readonly status: number
  /** The paging cursor (0 for the first page). */
  readonly cursor: number
  readonly retryAfterMs?: number
}

export interface Scripted {
  readonly status: number
  readonly retryAfter?: string
  /** Only requests whose path starts with this are answered by the script. */
  readonly pathPrefix?: string
  /** Only the request for the page at this cursor is answered by the script. */
  readonly cursor?: number
  /** The error body quotes the Authorization header it was sent. */
  readonly echoKey?: boolean
}

export interface PolygonServer {
  readonly url: string
  readonly apiKey: string
  readonly log: LoggedRequest[]
  /** Successful (200) requests. */
  readonly served: () => number
  readonly script: (...answers: Scripted[]) => void
  readonly close: () => Promise<void>
}

const SPAN_TO_INTERVAL: Record<string, Interval> = { "1/day": "1day", "1/hour": "1hour", "5/minute": "5min", "1/minute": "1min" }

export const startPolygonServer = async (options: { seed?: number; apiKey?: string; pageSize?: number } = {}): Promise<PolygonServer> => {
  const seed = options.seed ?? 42
  const apiKey = options.apiKey ?? "test-key"
  const pageSize = options.pageSize ?? 500
  const log: LoggedRequest[] = []
  const scripted: Scripted[] = []
  let base = ""

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers })
    res.end(JSON.stringify(body))
  }

  const page = (url: URL, all: unknown[], extra: Record<string, unknown> = {}) => {
    const offset = Number(url.searchParams.get("cursor") ?? 0)
    const results = all.slice(offset, offset + pageSize)
    const body: Record<string, unknown> = { status: "OK", request_id: `r${log.length}`, count: results.length, results, ...extra }
    if (offset + pageSize < all.length) {
      const next = new URL(url.href)
      next.searchParams.set("cursor", String(offset + pageSize))
      body["next_url"] = `${base}${next.pathname}${next.search}`
    }
    return body
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const at = performance.timeOrigin + performance.now()
    const url = new URL(req.url ?? "/", base)
    const keyUrl = new URL(url.href)
    keyUrl.searchParams.delete("cursor")
    const cursor = Number(url.searchParams.get("cursor") ?? 0)
    const entry = (status: number, retryAfterMs?: number) =>
      log.push({ at, path: url.pathname, key: `${keyUrl.pathname}${keyUrl.search}`, status, cursor, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      entry(401)
      return send(res, 401, { status: "ERROR", error: "Unknown API Key" })
    }
    const i = scripted.findIndex((s) => (!s.pathPrefix || url.pathname.startsWith(s.pathPrefix)) && (s.cursor === undefined || s.cursor === cursor))
    if (i >= 0) {
      const [s] = scripted.splice(i, 1)
      if (s) {
        entry(s.status, s.retryAfter === undefined ? undefined : Number(s.retryAfter) * 1000)
        const error = s.echoKey ? `request with Authorization "${req.headers.authorization ?? ""}" refused` : "scripted"
        return send(res, s.status, { status: "ERROR", error }, s.retryAfter === undefined ? {} : { "retry-after": s.retryAfter })
      }
    }
    const aggs = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/(\d+)\/(\w+)\/(\d+)\/(\d+)$/.exec(url.pathname)
    if (aggs) {
      const [, ticker = "", mult, span, from, to] = aggs
      const interval = SPAN_TO_INTERVAL[`${mult}/${span}`]
      if (!interval) { entry(400); return send(res, 400, { status: "ERROR", error: "bad span" }) }
      const bars = syntheticBars(seed, decodeURIComponent(ticker), interval, { from: Number(from), to: Number(to) + 1 })
      const results = bars.map((b) => ({ v: b.volume, vw: b.vwap, o: b.open, c: b.close, h: b.high, l: b.low, t: b.ts, n: b.trades }))
      entry(200)
      return send(res, 200, page(url, results, { ticker: decodeURIComponent(ticker), adjusted: true, queryCount: results.length, resultsCount: results.length }))
    }
    const ticker = url.searchParams.get("ticker") ?? ""
    const day = (name: string) => Date.parse(`${url.searchParams.get(name)}T00:00:00Z`)
    if (url.pathname === "/v2/reference/news") {
      const from = Date.parse(url.searchParams.get("published_utc.gte") ?? "")
      const to = Date.parse(url.searchParams.get("published_utc.lt") ?? "")
      const results = syntheticNews(seed, ticker, { from, to }).map((n) => ({
        id: n.id, publisher: { name: n.publisher }, title: n.title, author: "synthetic",
        published_utc: new Date(n.published_at).toISOString(), article_url: n.url, tickers: [ticker]
      }))
      entry(200)
      return send(res, 200, page(url, results))
    }
    if (url.pathname === "/v3/reference/splits" || url.pathname === "/v3/reference/dividends") {
      const splits = url.pathname.endsWith("splits")
      const from = day(splits ? "execution_date.gte" : "ex_dividend_date.gte")
      const to = day(splits ? "execution_date.lt" : "ex_dividend_date.lt")
      const actions = syntheticActions(seed, ticker, { from, to }).filter((a) => a.kind === (splits ? "split" : "dividend"))
      const results = actions.map((a) => splits
        ? { ticker, execution_date: new Date(a.ex_date).toISOString().slice(0, 10), split_from: 1, split_to: a.value, id: `s-${a.ex_date}` }
        : { ticker, ex_dividend_date: new Date(a.ex_date).toISOString().slice(0, 10), cash_amount: a.value, currency: "USD", frequency: 4 })
      entry(200)
      return send(res, 200, page(url, results))
    }
    entry(404)
    return send(res, 404, { status: "NOT_FOUND" })
  }

  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: base,
    apiKey,
    log,
    served: () => log.filter((r) => r.status === 200).length,
    script: (...answers) => { scripted.push(...answers) },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

/** The most requests whose arrivals fall inside any window of `windowMs`. */
export const maxInWindow = (times: readonly number[], windowMs: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= windowMs) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}
