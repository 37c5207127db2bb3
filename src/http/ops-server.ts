/**
 * The engine's HTTP port: `/healthz` (the process answers), `/readyz` (Redis and
 * PostgreSQL answer and the loops run), `/metrics` (Prometheus text, prom-client) and any
 * routes the caller adds (JSON API). Knows nothing of how the figures are computed: the
 * caller passes probes and metric sources.
 * Does not serve the dashboard's assets.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { Registry } from "prom-client"
import type { Logger } from "../services/logger.ts"
import { boundedMetrics, readinessCheck, type Probe } from "./bounded-probes.ts"
import { requestGuard } from "./request-guard.ts"

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void

export interface OpsServerOptions {
  readonly host: string
  readonly port: number
  readonly registry: Registry
  /** Each probe resolves true when its dependency is ready (bounded: bounded-probes.ts). */
  readonly readiness: Readonly<Record<string, Probe>>
  /** Extra GET routes by exact path, e.g. "/api/bars". */
  readonly routes?: Readonly<Record<string, RouteHandler>>
  /** Where contained request failures are logged (debug) and failing handlers (warn). */
  readonly log?: Logger
}

export const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" })
  res.end(JSON.stringify(body))
}

export const startOpsServer = (options: OpsServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> => {
  const readiness = readinessCheck(options.readiness)
  // The guard parses the target, refuses other methods and contains every failure.
  const guard = requestGuard(async (req, res, url) => {
    switch (url.pathname) {
      case "/healthz":
        return sendJson(res, 200, { status: "ok" })
      case "/readyz": {
        const { ready, checks, down } = await readiness()
        if (ready) return sendJson(res, 200, { status: "ready", checks })
        return sendJson(res, 503, { status: `not ready: ${Object.keys(down).join(", ")}`, checks, down })
      }
      case "/metrics": {
        const text = await boundedMetrics(options.registry)
        res.writeHead(200, { "content-type": options.registry.contentType })
        return res.end(text)
      }
      default: {
        const route = options.routes?.[url.pathname]
        if (route) return route(req, res, url)
        return sendJson(res, 404, { error: `no route ${url.pathname}` })
      }
    }
  }, options.log)
  const server = createServer(guard.listener)
  guard.attach(server)
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE"
        ? new Error(`http.port ${options.port} on ${options.host} is in use (set http.port or STRATA_HTTP_PORT; 0 picks a free port)`)
        : e))
    server.listen(options.port, options.host, () => {
      // Errors after listening (accept failures such as EMFILE) are logged, never thrown.
      server.on("error", (e) => options.log?.warn({ err: e.message }, "http server error"))
      const port = (server.address() as AddressInfo).port
      resolve({
        server,
        port,
        close: () => new Promise<void>((done) => {
          server.close(() => done())
          server.closeAllConnections()
        })
      })
    })
  })
}
