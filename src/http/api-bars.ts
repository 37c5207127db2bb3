/**
 * `GET /api/bars?symbol=&interval=&from=&to=&limit=&next=&adjust=`: one page of the bars of
 * one series over both storage tiers (the read router), streamed as JSON
 * `{ symbol, interval, from, to, limit, adjust, bars, count, next }` with times in ms since the
 * epoch. `from`/`to` take ms or ISO-8601; `to` defaults to now and `from` to 30 days
 * before `to`. A page holds at most `limit` bars (default 10,000, at most 100,000); `next`
 * is null on the last page, else the token to pass as `next` for the following page (the
 * time of the page's last bar). `adjust` (none, splits, all; default none) adjusts the bars
 * on the way out by the stored corporate actions (storage/adjusted-read.ts): the cursor is
 * a time, which adjustment does not change, so paging is the same. A bad parameter
 * answers 400 naming it.
 * The page is written as it is read, chunk by chunk: the read stops at the page's end
 * (it never reads the whole range to count it), waits for the client when the socket's
 * buffer is full, yields to the event loop between chunks so a heavy read does not hold
 * up the engine's loops, and stops reading when the client goes away.
 * `apiBarsHandler` plugs into the engine's HTTP port as a route; `startApiServer` serves
 * it alone (the `strata query --serve` case and tests).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { setImmediate as nextTurn } from "node:timers/promises"
import type { Bar } from "../domain/rows.ts"
import type { Logger } from "../services/logger.ts"
import type { Adjust } from "../domain/adjust.ts"
import { seriesAdjustment } from "../storage/adjusted-read.ts"
import { parseAdjust, parseSeriesQuery, type SeriesQuery } from "../storage/query-params.ts"
import { seriesChunks, type ReadStats } from "../storage/read-router.ts"
import type { StorageDeps } from "../storage/write-router.ts"
import { requestGuard } from "./request-guard.ts"

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" })
  res.end(JSON.stringify(body))
}

export const DEFAULT_LIMIT = 10_000
export const MAX_LIMIT = 100_000
// Rows per chunk read and written: ~200 KB of JSON, a few ms of work between yields.
const CHUNK_ROWS = 2_000

export interface PageQuery extends SeriesQuery {
  readonly limit: number
  /** Time of the last bar already returned; the page starts after it. */
  readonly after: number | undefined
  readonly adjust: Adjust
}

/** The query string of a page request, each problem named after its parameter. */
export const parsePageQuery = (p: URLSearchParams, now: number): { ok: true; query: PageQuery } | { ok: false; errors: string[] } => {
  const parsed = parseSeriesQuery({
    symbol: p.get("symbol") ?? undefined, interval: p.get("interval") ?? undefined,
    from: p.get("from") ?? undefined, to: p.get("to") ?? undefined
  }, true, now)
  const errors = parsed.ok ? [] : [...parsed.errors]
  const rawLimit = p.get("limit")
  const limit = rawLimit === null || rawLimit === "" ? DEFAULT_LIMIT : Number(rawLimit)
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    errors.push(`limit: expected a whole number from 1 to ${MAX_LIMIT}, got "${rawLimit}"`)
  }
  const rawNext = p.get("next")
  const after = rawNext === null || rawNext === "" ? undefined : Number(rawNext)
  if (after !== undefined && !(/^-?\d{1,16}$/.test(rawNext ?? "") && Number.isSafeInteger(after))) {
    errors.push(`next: expected the token of the previous page's answer, got "${rawNext}"`)
  }
  const adjust = parseAdjust(p.get("adjust"), true)
  if (!adjust.ok) errors.push(adjust.error)
  if (!parsed.ok || !adjust.ok || errors.length > 0) return { ok: false, errors }
  return { ok: true, query: { ...parsed.query, limit, after, adjust: adjust.adjust } }
}

export interface PageResult { readonly count: number; readonly next: string | null; readonly stats: ReadStats; readonly aborted: boolean }

/** Resolves once the socket has room again, or the response is closed (then false). */
const roomOrClose = (res: ServerResponse): Promise<boolean> =>
  new Promise((resolve) => {
    const done = (ok: boolean) => { res.off("drain", onDrain); res.off("close", onClose); resolve(ok) }
    const onDrain = () => done(true)
    const onClose = () => done(false)
    res.on("drain", onDrain)
    res.on("close", onClose)
  })

/**
 * Stream one page: read bars from both tiers up to `limit` + 1 (the extra one only says
 * whether a next page exists), writing each chunk as it arrives. The status line goes out
 * once the first chunk is read, so a storage failure before any bar is a plain 500; one
 * after that destroys the response (the client sees a cut answer, never a short page
 * that looks complete).
 */
export const streamPage = async (deps: StorageDeps, q: PageQuery, res: ServerResponse): Promise<PageResult> => {
  const stats: ReadStats = { hotRows: 0, coldRows: 0 }
  // Before the status line: a storage failure here is a plain 500 too.
  const { adjust } = await seriesAdjustment(deps, q.symbol, q.interval, q.adjust)
  const after = q.after === undefined ? undefined : ({ symbol: q.symbol, interval: q.interval, ts: q.after } as Bar)
  const chunks = seriesChunks(deps, "bars", q.symbol, q.interval, q.from, q.to, { after, chunkRows: Math.min(CHUNK_ROWS, q.limit + 1), stats })
  let count = 0
  let last: Bar | undefined
  let more = false
  let started = false
  let closed = false
  const onClose = () => { closed = true }
  res.once("close", onClose)
  const start = () => {
    started = true
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" })
    const head = JSON.stringify({ symbol: q.symbol, interval: q.interval, from: q.from, to: q.to, limit: q.limit, adjust: q.adjust })
    res.write(`${head.slice(0, -1)},"bars":[`)
  }
  try {
    for await (const rows of chunks) {
      if (closed) break
      if (!started) start()
      const take = Math.min(rows.length, q.limit - count)
      if (take < rows.length) more = true
      if (take > 0) {
        let text = ""
        for (let i = 0; i < take; i++) text += (count + i === 0 ? "" : ",") + JSON.stringify(adjust(rows[i]!))
        count += take
        last = rows[take - 1]
        if (!res.write(text) && !(await roomOrClose(res))) break
      }
      if (more) break
      // Let other work (the ingest loop, other requests) run between chunks.
      await nextTurn()
    }
  } finally {
    res.off("close", onClose)
  }
  if (closed || res.destroyed) return { count, next: null, stats, aborted: true }
  if (!started) start()
  const next = more && last ? String(last.ts) : null
  res.end(`],"count":${count},"next":${JSON.stringify(next)}}`)
  return { count, next, stats, aborted: false }
}

export interface ApiBarsOptions {
  readonly clock?: () => number
  readonly log?: Logger
  /** Told of every page served: rows returned, rows each tier read, whether the client left. */
  readonly onPage?: (page: PageResult) => void
}

export const apiBarsHandler = (deps: StorageDeps, options: ApiBarsOptions = {}) =>
  async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const clock = options.clock ?? Date.now
    const log = options.log
    const parsed = parsePageQuery(url.searchParams, clock())
    if (!parsed.ok) return json(res, 400, { error: parsed.errors.join("; "), errors: parsed.errors })
    // HEAD: the parameters are valid; the body is not computed.
    if (req.method === "HEAD") return json(res, 200, {})
    try {
      const page = await streamPage(deps, parsed.query, res)
      log?.debug({ symbol: parsed.query.symbol, ...page }, "/api/bars page")
      options.onPage?.(page)
    } catch (e) {
      const message = `storage read failed: ${(e as Error).message}`
      log?.warn({ err: (e as Error).message, symbol: parsed.query.symbol }, "/api/bars read failed")
      if (!res.headersSent) return json(res, 500, { error: message })
      res.destroy(e as Error)
    }
  }

/** A server answering only /api/bars (404 elsewhere), on host:port (0 = a free port). */
export const startApiServer = async (deps: StorageDeps, options: ApiBarsOptions & { host?: string; port?: number } = {}) => {
  const handle = apiBarsHandler(deps, options)
  const guard = requestGuard((req, res, url) => {
    if (url.pathname !== "/api/bars") return json(res, 404, { error: `no route ${url.pathname}` })
    return handle(req, res, url)
  }, options.log)
  const server = createServer(guard.listener)
  guard.attach(server)
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    server, port, counts: guard.counts,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() })
  }
}
