/**
 * What keeps any request from crashing the process, shared by every HTTP server of
 * Strata: the request target is parsed without throwing (a target no URL parser accepts,
 * such as `//`, answers 400), methods other than GET and HEAD answer 405 with `Allow`, a
 * failing or throwing handler answers 500 (or, once a response has begun, the connection
 * is destroyed so the client sees a truncated answer rather than a clean end), and errors
 * of the parser, the socket, the request and the response are answered or closed and
 * counted, never left to reach the process as an uncaught error. Header, request and idle
 * timeouts bound how long a slow client may hold a connection.
 * Does not route: the caller's handler gets the parsed URL and decides.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { Logger } from "../services/logger.ts"

export type GuardedHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<unknown> | unknown

/** Failures the guard contained, by kind (tests and logs read them). */
export interface GuardCounts {
  badTarget: number
  badMethod: number
  handlerFailed: number
  clientError: number
  socketError: number
}

export interface RequestGuard {
  readonly counts: GuardCounts
  /** The `request` listener: parses, checks the method, runs `handle`, contains failures. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void
  /** Attach the client-error and timeout handling to a server. */
  readonly attach: (server: Server) => void
}

// A slow client may take this long to send its headers, and this long for the whole request.
const HEADERS_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 30_000
// A connection on which nothing moves this long is closed (a client that stopped reading a
// streamed answer included), so it cannot hold a read open for ever.
const IDLE_TIMEOUT_MS = 120_000

const BASE = "http://localhost"

/** The request target as a URL, undefined when no URL parser accepts it. */
export const parseTarget = (raw: string | undefined): URL | undefined => {
  try {
    return new URL(raw ?? "/", BASE)
  } catch {
    return undefined
  }
}

const plain = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
  res.end(JSON.stringify(body))
}

export const requestGuard = (handle: GuardedHandler, log?: Logger): RequestGuard => {
  const counts: GuardCounts = { badTarget: 0, badMethod: 0, handlerFailed: 0, clientError: 0, socketError: 0 }
  const note = (kind: keyof GuardCounts, err: unknown, detail: Record<string, unknown> = {}) => {
    counts[kind]++
    log?.debug({ kind, err: err instanceof Error ? err.message : String(err), ...detail }, "http request contained")
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    // A client that goes away mid-answer makes these emit; the answer is simply abandoned.
    req.on("error", (e) => note("socketError", e))
    res.on("error", (e) => note("socketError", e))
    const run = async () => {
      const url = parseTarget(req.url)
      if (url === undefined) {
        counts.badTarget++
        return plain(res, 400, { error: "request target is not a valid URL" })
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        counts.badMethod++
        // Close after answering: an unread body of any size is not drained.
        return plain(res, 405, { error: "only GET and HEAD" }, { allow: "GET, HEAD", connection: "close" })
      }
      await handle(req, res, url)
    }
    run().catch((e: unknown) => {
      note("handlerFailed", e, { url: req.url?.slice(0, 200) })
      log?.warn({ err: (e as Error)?.message, url: req.url?.slice(0, 200) }, "http handler failed")
      if (res.destroyed) return
      if (!res.headersSent) plain(res, 500, { error: (e as Error)?.message ?? String(e) })
      else res.destroy()
    })
  }

  const attach = (server: Server) => {
    server.headersTimeout = HEADERS_TIMEOUT_MS
    server.requestTimeout = REQUEST_TIMEOUT_MS
    server.timeout = IDLE_TIMEOUT_MS
    // Node's parser refused the request (bad request line, header overflow, timeout) or the
    // socket failed before a request: answer when the socket still takes it, else close.
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      note("clientError", err, { code: err.code })
      if (!socket.writable || err.code === "ECONNRESET") return socket.destroy()
      const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large"
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request"
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    })
    // CONNECT and protocol upgrades are not served: refuse them and close the connection.
    const refuse = (status: string) => (_req: IncomingMessage, socket: Socket) => {
      counts.badMethod++
      socket.on("error", (e) => note("socketError", e))
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    server.on("connect", refuse("405 Method Not Allowed"))
    server.on("upgrade", refuse("400 Bad Request"))
  }

  return { counts, listener, attach }
}
