/**
 * The dashboard in a real browser (the system Chromium through playwright-core) against
 * a real in-process engine: scores XADDed while the page is open move its plots and
 * figures, a symbol lookup shows its layer, transitions, coverage and last backfill
 * error, and at 1280 and 1920 px no card and not the page scrolls sideways. Backfill
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

/** Cards, KPI tiles and the document whose content is wider than their box, at the current width. */
const overflowing = (page: Page) =>
  page.evaluate(() => {
    const out: string[] = []
    const doc = document.documentElement
    if (doc.scrollWidth > doc.clientWidth) out.push(`document ${doc.scrollWidth} > ${doc.clientWidth}`)
    for (const el of Array.from(document.querySelectorAll<HTMLElement>(".card, .kpi"))) {
      if (el.scrollWidth > el.clientWidth) out.push(`${el.id || el.className} ${el.scrollWidth} > ${el.clientWidth}`)
      // Every cell, chart and bar ends inside its card (a clipped overflow counts too).
      const right = el.getBoundingClientRect().right
      for (const inner of Array.from(el.querySelectorAll<HTMLElement>("td, th, .uplot, .bar, input, button, .layer"))) {
        const r = inner.getBoundingClientRect()
        if (r.width > 0 && r.right > right + 0.5) out.push(`${el.id}: ${inner.tagName.toLowerCase()}.${inner.className} ends at ${r.right} > ${right}`)
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

  beforeAll(async () => {
    ns = await testNamespace(ENGINE_ONLY)
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
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await engine?.stop()
    await ns?.cleanup()
  })

  const xadd = (...fields: (string | number)[]) => ns.redis.xadd(ingressKeys(ns.prefix).scores, "*", ...fields.map(String))

  it("plots, figures, symbol lookup and layout at 1280 and 1920 px", { timeout: 180_000 }, async () => {
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
    await attemptFailed(ns.sql, command.id, "polygon: HTTP 503 Service Unavailable")
    await recordCoverage(ns.sql, { kind: "bars", symbol: "AAPL", interval: "1day", tier: "hot", from: T0 - 30 * DAY, to: T0 })

    // Scores: AAPL and the long tickers qualify for L1 (two confirmations each), two entries are dead letters.
    for (const s of ["AAPL", ...SYMBOLS]) {
      await xadd("symbol", s, "liquidity", "0.9", "ts", T0)
      await xadd("symbol", s, "liquidity", "0.95", "ts", T0 + MIN)
    }
    await xadd("symbol", "../x", "liquidity", "0.9")
    await xadd("liquidity", "0.9")
    for (let i = 0; i < 3; i++) await taskDone(ns.sql, command.id, { fetched: 250, hot: 250, cold: 0, objects: 0, requests: 2 })
    const entries = 2 * (1 + SYMBOLS.length) + 2

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
    await waitUntil("L1 count shown", async () => (await text(page, '.layer[data-layer="1"] b')) === String(1 + SYMBOLS.length), 60_000)
    // Row 2 is the persisted total, row 3 this process; column 2 is entries.
    await waitUntil("persisted entries counted", async () => (await text(page, "#counters tr:nth-child(2) td:nth-child(2)")) === String(entries), 60_000)
    expect(await text(page, "#counters tr:nth-child(3) td:nth-child(2)")).toBe(String(entries))
    expect(await text(page, "#kpi-dead")).toBe("2")
    await waitUntil("layer change over the window", async () => (await text(page, '.layer[data-layer="1"] em')) === `+${1 + SYMBOLS.length}`, 60_000)
    expect(await page.locator("#transitions tr").count()).toBeGreaterThan(10)
    const row = page.locator('#backfill tr[data-command="cmd-aapl-1"]')
    expect(await row.innerText()).toMatch(/AAPL\s+L1\s+running\s+3\/8\s+750\s+1\s+\S.*\s+polygon: HTTP 503/)
    expect(await text(page, "#partitions")).toMatch(/^0\s+p0\s/m)

    // Symbol lookup.
    await page.fill("#symbol-input", "aapl")
    await page.click("#symbol-form button")
    await waitUntil("symbol shown", async () => (await page.locator("#symbol-layer").count()) === 1 && (await text(page, "#symbol-layer")) === "L1")
    expect(await text(page, "#symbol-transitions")).toMatch(/Qualified\s+unqualified → L1\s+2026-01-05 14:31:00/)
    expect(await text(page, "#symbol-coverage")).toMatch(/bars\s+1day\s+hot\s+1\s+2025-12-06\s+2026-01-05\s+30/)
    expect(await text(page, "#symbol-error")).toBe("polygon: HTTP 503 Service Unavailable")

    for (const width of [1280, 1920]) {
      await page.setViewportSize({ width, height: 1000 })
      // Charts follow their card's width once the resize has been observed.
      await waitUntil(`charts fit at ${width}`, async () => (await overflowing(page)).length === 0, 10_000).catch(() => undefined)
      expect(await overflowing(page), `overflow at ${width} px`).toEqual([])
      // Cards keep their own height: the backfill queue is not pushed below a long list.
      const top = await page.locator("#card-backfill").evaluate((el) => el.getBoundingClientRect().top + window.scrollY)
      expect(top, `backfill card top at ${width} px`).toBeLessThan(1100)
      const file = join(shots, `dashboard-${width}.png`)
      await page.screenshot({ path: file, fullPage: true })
      console.log(`screenshot: ${file}`)
    }
    expect(failedRequests).toEqual([])
  })
})
