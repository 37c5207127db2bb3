/**
 * `GET /api/bars?symbol=&interval=&from=&to=`: bars of one series over both storage tiers
 * (the read router), as JSON `{ symbol, interval, from, to, count, bars }` with times in ms
 * since the epoch. `from`/`to` take ms or ISO-8601; `to` defaults to now and `from` to 30
 * days before `to`. A bad parameter answers 400 naming it.
 * `apiBarsHandler` plugs into the engine's HTTP port as a route; `startApiServer` serves
 * it alone (the `strata query --serve` case and tests).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { parseSeriesQuery } from "../storage/query-params.ts"
import { bars } from "../storage/read-router.ts"
import type { StorageDeps } from "../storage/write-router.ts"

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" })
  res.end(JSON.stringify(body))
}

// Answers larger than this are refused: a decade of 1-minute bars gets a message, not a huge body.
const MAX_ROWS = 500_000

export const apiBarsHandler = (deps: StorageDeps, clock: () => number = Date.now) =>
  async (_req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const p = url.searchParams
    const parsed = parseSeriesQuery({
      symbol: p.get("symbol") ?? undefined, interval: p.get("interval") ?? undefined,
      from: p.get("from") ?? undefined, to: p.get("to") ?? undefined
    }, true, clock())
    if (!parsed.ok) return json(res, 400, { error: parsed.errors.join("; "), errors: parsed.errors })
    const q = parsed.query
    try {
      const rows = await bars(deps, q.symbol, q.interval, q.from, q.to)
      if (rows.length > MAX_ROWS) return json(res, 413, { error: `${rows.length} bars: narrow from/to (at most ${MAX_ROWS})` })
      json(res, 200, { symbol: q.symbol, interval: q.interval, from: q.from, to: q.to, count: rows.length, bars: rows })
    } catch (e) {
      json(res, 500, { error: `storage read failed: ${(e as Error).message}` })
    }
  }

/** A server answering only /api/bars (404 elsewhere), on host:port (0 = a free port). */
export const startApiServer = async (deps: StorageDeps, options: { host?: string; port?: number } = {}) => {
  const handle = apiBarsHandler(deps)
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost")
    if (req.method !== "GET") return json(res, 405, { error: "only GET" })
    if (url.pathname !== "/api/bars") return json(res, 404, { error: `no route ${url.pathname}` })
    void handle(req, res, url)
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return { server, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
