/**
 * The live dashboard's files: the page (dashboard/index.html), its script and style, and
 * the chart library (uPlot) served from the installed package, so the page needs nothing
 * from outside the engine and works offline. Files are read once, on first request.
 * Serves files only; the figures come from /api/overview, /api/series and /api/symbol.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import type { RouteHandler } from "./ops-server.ts"

const require = createRequire(import.meta.url)
const own = (name: string) => fileURLToPath(new URL(`./dashboard/${name}`, import.meta.url))

const FILES = {
  "/": { path: () => own("index.html"), type: "text/html; charset=utf-8" },
  "/dashboard/app.js": { path: () => own("app.js"), type: "text/javascript; charset=utf-8" },
  "/dashboard/style.css": { path: () => own("style.css"), type: "text/css; charset=utf-8" },
  "/dashboard/uPlot.js": { path: () => require.resolve("uplot/dist/uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "/dashboard/uPlot.css": { path: () => require.resolve("uplot/dist/uPlot.min.css"), type: "text/css; charset=utf-8" }
} as const

const fileHandler = (path: () => string, type: string): RouteHandler => {
  let body: Buffer | undefined
  return (_req, res) => {
    body ??= readFileSync(path())
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache" })
    res.end(body)
  }
}

/** Routes by exact path, to mount on the engine's HTTP port. */
export const dashboardRoutes = (): Record<string, RouteHandler> =>
  Object.fromEntries(Object.entries(FILES).map(([route, f]) => [route, fileHandler(f.path, f.type)]))
