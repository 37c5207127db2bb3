/**
 * The dashboard in a real browser (the system Chromium through playwright-core) against
 * a real in-process engine: scores XADDed while the page is open move its plots and
 * figures, a symbol lookup shows its layer, transitions, coverage and last backfill
 * error, and at 1280, 1400 and 1920 px no card and not the page scrolls sideways. Backfill
 * progress and coverage are written with the workers' and the storage's own functions.
 * Screenshots go to a temporary folder, named in the test's output.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium, type Browser, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { attemptFailed, PROGRESS_DDL, setPlanned, startCommand, taskDone } from "../../src/backfill/progress.ts"
import { migrate } from "../../src/services/postgres.ts"
import { recordCoverage } from "../../src/storage/coverage.ts"
import { runEngine, waitUntil, type RunningEngine } from "../helpers/engine.ts"
import { ENGINE_ONLY, testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2026, 0, 5, 14, 30)
const MIN = 60_000
const DAY = 86_400_000
// Long tickers (15 characters, the most a symbol may have) stress the tables' widths.
const ERROR = "polygon: GET http://127.0.0.1:9/v2/aggs/ticker/AAPL/range/1/day/2025-01-01/2026-01-05?adjusted=true&sort=asc&limit=50000&apiKey=[redacted] → HTTP 503 Service Unavailable"
const SYMBOLS = Array.from({ length: 24 }, (_, i) => `LONGTICKER.${String(i).padStart(4, "0")}`)

const chromiumPath = (): string => {
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim()
  } catch {
    throw new Error("no chromium on the PATH: apt-get install -y chromium (the dashboard tests drive the system Chromium)")
  }
}

interface ChartView { labels: string[]; data: (number | null)[][] }
const chart = (page: Page, id: string): Promise<ChartView | null> =>
  page.evaluate((name) => {
    const c = (window as unknown as { strataDashboard: { charts: Record<string, { labels: string[]; data: (number | null)[][] }> } }).strataDashboard.charts[name]
    return c ? { labels: c.labels, data: c.data } : null
  }, id)
const text = (page: Page, selector: string) => page.locator(selector).innerText()
const anyAbove = (values: readonly (number | null)[] | undefined, min: number) => (values ?? []).some((v) => v !== null && v > min)

/**
 * What breaks the layout at the current width: the document or a card (or KPI tile)
 * scrolling sideways, a cell, chart or bar ending outside its card (a clipped overflow
 * counts too), and a card stretched beyond its own content by a taller neighbour.
 */
const layoutFaults = (page: Page) =>
  page.evaluate(() => {
    const out: string[] = []
    const doc = document.documentElement
    if (doc.scrollWidth > doc.clientWidth) out.push(`document ${doc.scrollWidth} > ${doc.clientWidth}`)
    for (const el of Array.from(document.querySelectorAll<HTMLElement>(".card, .kpi"))) {
      const name = el.id || el.className
      if (el.scrollWidth > el.clientWidth) out.push(`${name} ${el.scrollWidth} > ${el.clientWidth}`)
      const box = el.getBoundingClientRect()
      for (const inner of Array.from(el.querySelectorAll<HTMLElement>("td, th, .uplot, .bar, input, button, .layer, p"))) {
        const r = inner.getBoundingClientRect()
        if (r.width === 0) continue
        if (r.right > box.right + 0.5) out.push(`${name}: ${inner.tagName.toLowerCase()} ends at x=${r.right} > ${box.right}`)
        // A list scrolls vertically inside its card: there the list's own box must fit.
        const bottom = (inner.closest(".scroll") ?? inner).getBoundingClientRect().bottom
        if (bottom > box.bottom + 0.5) out.push(`${name}: ${inner.tagName.toLowerCase()} ends at y=${bottom} > ${box.bottom}`)
      }
      if (el.classList.contains("card")) {
        const last = el.lastElementChild?.getBoundingClientRect()
        const pad = parseFloat(getComputedStyle(el).paddingBottom)
        if (last && box.bottom - last.bottom - pad > 2) out.push(`${name} stretched ${Math.round(box.bottom - last.bottom - pad)} px below its content`)
      }
    }
    return out
  })

describe("dashboard in Chromium", () => {
  let ns: TestNamespace
  let engine: RunningEngine
  let browser: Browser
  let page: Page
  let shots: string
  let entriesSent: number

  beforeAll(async () => {
    // A provider rate limit, so the backfill plot draws it (no workers run: backfill is off).
    ns = await testNamespace({ ...ENGINE_ONLY, providers: { synthetic: { rate_limit: { requests_per_second: 5 } } } })
    // The backfill progress table, as the workers create it; no workers run here.
    await migrate(ns.sql, ns.schema, PROGRESS_DDL)
    engine = await runEngine(ns.config)
    shots = mkdtempSync(join(tmpdir(), "strata-dashboard-shots-"))
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
      // launch() gives the browser a fresh temporary profile of its own and removes it on close.
    })
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    // Offline: any request that leaves the engine fails the page, so a CDN would show.
    await page.route((url) => url.host !== `127.0.0.1:${engine.handles.httpPort}`, (route) => route.abort())
    entriesSent = 0
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await engine?.stop()
    await ns?.cleanup()
  })

  const xadd = (...fields: (string | number)[]) => ns.redis.xadd(ingressKeys(ns.prefix).scores, "*", ...fields.map(String))

  it("plots, figures, symbol lookup and layout from 1280 to 1920 px", { timeout: 180_000 }, async () => {
    const keys = partitionKeys(ns.prefix, 0)
    const failedRequests: string[] = []
    page.on("requestfailed", (r) => failedRequests.push(r.url()))
    await page.goto(`http://127.0.0.1:${engine.handles.httpPort}/`)
    await waitUntil("page rendered live figures", async () => (await text(page, "#status")).startsWith("live"))
    // Idle: no batch committed yet, so no latency figure (not "0.0 ms").
    await waitUntil("first sampled points", async () => ((await chart(page, "ingest"))?.data[0]?.length ?? 0) >= 1)
    expect(await text(page, "#kpi-latency")).toBe("idle")
    expect(await text(page, "#counters-note")).toMatch(/since it started at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/)
    const before = await chart(page, "ingest")
    expect(anyAbove(before?.data[1], 0)).toBe(false)

    // A backfill command mid-way, with a failed attempt, through the workers' own writes.
    const command = { id: "cmd-aapl-1", symbol: "AAPL", layer: 1 as const, from: 0 as const, dataTypes: ["market_data" as const], at: T0, cause: "0-1", priority: 1 }
    await startCommand(ns.sql, command, "0-1", 1)
    await setPlanned(ns.sql, command.id, 8, 0, 1)
    // A real provider error: a long URL without spaces, the kind that used to widen its table.
    await attemptFailed(ns.sql, command.id, ERROR)
    await recordCoverage(ns.sql, { kind: "bars", symbol: "AAPL", interval: "1day", tier: "hot", from: T0 - 30 * DAY, to: T0 })

    // Scores: AAPL and the long tickers qualify for L1 (two confirmations each), two entries are dead letters.
    for (const s of ["AAPL", ...SYMBOLS]) {
      await xadd("symbol", s, "liquidity", "0.9", "ts", T0)
      await xadd("symbol", s, "liquidity", "0.95", "ts", T0 + MIN)
    }
    await xadd("symbol", "../x", "liquidity", "0.9")
    await xadd("liquidity", "0.9")
    for (let i = 0; i < 3; i++) await taskDone(ns.sql, command.id, { fetched: 250, hot: 250, cold: 0, objects: 0, requests: 2 })
    const entries = entriesSent = 2 * (1 + SYMBOLS.length) + 2

    await waitUntil("ingest rate plotted", async () => anyAbove((await chart(page, "ingest"))?.data[1], 0), 60_000)
    await waitUntil("L1 transitions plotted", async () => {
      const c = await chart(page, "transitions")
      return anyAbove(c?.data[(c?.labels.indexOf("→ L1") ?? -2) + 1], 0)
    }, 60_000)
    await waitUntil("dead letters plotted by reason", async () => {
      const c = await chart(page, "dead")
      return (c?.labels ?? []).includes("scores: invalid symbol") && (c?.labels ?? []).includes("scores: missing symbol")
    }, 60_000)
    await waitUntil("commit latency plotted", async () => anyAbove((await chart(page, "latency"))?.data[2], -1), 60_000)
    await waitUntil("backfill rows/s plotted", async () => anyAbove((await chart(page, "backfill"))?.data[1], 0), 60_000)
    const backfillChart = await chart(page, "backfill")
    expect(backfillChart?.labels).toEqual(["rows/s", "requests/s", "limit req/s"])
    expect(new Set(backfillChart?.data[3])).toEqual(new Set([5]))
    await waitUntil("L1 count shown", async () => (await text(page, '.layer[data-layer="1"] b')) === String(1 + SYMBOLS.length), 60_000)
    // Row 2 is the persisted total, row 3 this process; column 2 is entries.
    await waitUntil("persisted entries counted", async () => (await text(page, "#counters tr:nth-child(2) td:nth-child(2)")) === String(entries), 60_000)
    expect(await text(page, "#counters tr:nth-child(3) td:nth-child(2)")).toBe(String(entries))
    expect(await text(page, "#kpi-dead")).toBe("2")
    await waitUntil("layer change over the window", async () => (await text(page, '.layer[data-layer="1"] em')) === `+${1 + SYMBOLS.length}`, 60_000)
    expect(await page.locator("#transitions tr").count()).toBeGreaterThan(10)
    const row = page.locator('#backfill tr[data-command="cmd-aapl-1"]')
    expect(await row.innerText()).toMatch(/AAPL\s+L1\s+running\s+3\/8\s+750\s+1\s+\S.*\s+polygon: GET http/)
    expect(await text(page, "#partitions")).toMatch(/^0\s+p0\s/m)

    // Symbol lookup.
    await page.fill("#symbol-input", "aapl")
    await page.click("#symbol-form button")
    await waitUntil("symbol shown", async () => (await page.locator("#symbol-layer").count()) === 1 && (await text(page, "#symbol-layer")) === "L1")
    expect(await text(page, "#symbol-transitions")).toMatch(/Qualified\s+unqualified → L1\s+2026-01-05 14:31:00/)
    expect(await text(page, "#symbol-coverage")).toMatch(/bars\s+1day\s+hot\s+1\s+2025-12-06\s+2026-01-05\s+30/)
    expect(await text(page, "#symbol-error")).toBe(ERROR)

    // 1400 px is where the tables used to overflow; 1280 and 1920 bound the supported range.
    for (const width of [1280, 1400, 1920]) {
      await page.setViewportSize({ width, height: 1000 })
      // Charts follow their card's width once the resize has been observed.
      await waitUntil(`charts fit at ${width}`, async () => (await layoutFaults(page)).length === 0, 10_000).catch(() => undefined)
      expect(await layoutFaults(page), `layout at ${width} px`).toEqual([])
      // Cards keep their own height: the backfill queue is not pushed below a long list.
      const top = await page.locator("#card-backfill").evaluate((el) => el.getBoundingClientRect().top + window.scrollY)
      expect(top, `backfill card top at ${width} px`).toBeLessThan(1100)
      console.log(`${width} px: backfill card at y=${Math.round(top)}`)
      const file = join(shots, `dashboard-${width}.png`)
      await page.screenshot({ path: file, fullPage: true })
      console.log(`screenshot: ${file}`)
    }
    expect(failedRequests).toEqual([])
    const api = (q: string) => fetch(`http://127.0.0.1:${engine.handles.httpPort}/api/symbol${q}`)
    expect((await api("")).status).toBe(400)
    expect((await api("?symbol=../x")).status).toBe(400)
    expect(await (await api("?symbol=NEVERSEEN")).json()).toMatchObject({ symbol: "NEVERSEEN", known: false })
  })

  it("after a restart shows the persisted totals beside this process's own counters", { timeout: 120_000 }, async () => {
    const startedAt = () => page.evaluate(() => (window as unknown as { strataDashboard: { overview: { processStartedAt: number } } }).strataDashboard.overview.processStartedAt)
    const firstStart = await startedAt()
    await engine.stop()
    engine = await runEngine(ns.config)
    await page.unrouteAll()
    await page.route((url) => url.host !== `127.0.0.1:${engine.handles.httpPort}`, (route) => route.abort())
    await page.goto(`http://127.0.0.1:${engine.handles.httpPort}/`)
    await waitUntil("counters shown", async () => (await page.locator("#counters tr").count()) === 3)
    expect(await text(page, "#counters tr:nth-child(2) td:nth-child(2)")).toBe(String(entriesSent))
    expect(await text(page, "#counters tr:nth-child(3) td:nth-child(2)")).toBe("0")
    expect(await startedAt()).toBeGreaterThan(firstStart)
    expect(await text(page, "#counters-note")).toMatch(/this process: since it started at/)
  })
})
