/**
 * The polygon provider against a local HTTP server in Polygon's response shape: rows
 * mapped exactly, pages followed through next_url, HTTP outcomes mapped to tagged errors;
 * and the shared bottleneck limit on the test Redis holding across two limiters.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { RateLimited, Retryable, Terminal } from "../../src/backfill/errors.ts"
import { polygonProvider } from "../../src/backfill/providers/polygon.ts"
import { rowsOf } from "../../src/backfill/providers/synthetic.ts"
import { openLimiter, unlimited } from "../../src/backfill/rate-limit.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { maxInWindow, startPolygonServer, type PolygonServer } from "../helpers/polygon-server.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

const MON = Date.UTC(2026, 0, 5)

describe("polygon provider", () => {
  let server: PolygonServer
  beforeAll(async () => {
    server = await startPolygonServer({ pageSize: 500 })
  })
  afterAll(async () => {
    await server.close()
  })
  const provider = (apiKey = server.apiKey) =>
    polygonProvider({ baseUrl: server.url, apiKey, pageLimit: 50_000, timeoutMs: 5000 }, unlimited)

  it("maps aggregates exactly and follows next_url", async () => {
    const before = server.served()
    const req = { symbol: "AAPL", kind: "bars" as const, interval: "1min" as const, from: MON, to: MON + 7 * DAY_MS }
    const res = await provider().fetch(req)
    // 5 weekdays × 390 one-minute bars, 500 a page.
    expect(res.rows.length).toBe(5 * 390)
    expect(res.requests).toBe(4)
    expect(server.served() - before).toBe(4)
    expect(res.rows).toEqual(rowsOf(42, req))
    const hits = server.log.slice(-4).map((r) => r.path)
    expect(new Set(hits).size).toBe(1)
  })

  it("maps news, splits and dividends", async () => {
    const range = { symbol: "MSFT", from: MON - 400 * DAY_MS, to: MON }
    const news = await provider().fetch({ ...range, kind: "news", interval: "" })
    expect(news.rows).toEqual(rowsOf(42, { ...range, kind: "news", interval: "" }))
    expect(news.rows.length).toBeGreaterThan(100)
    const actions = await provider().fetch({ ...range, kind: "corporate_actions", interval: "" })
    const expected = rowsOf(42, { ...range, kind: "corporate_actions", interval: "" })
    const byKey = (a: { kind: string; ex_date: number }, b: { kind: string; ex_date: number }) => a.kind.localeCompare(b.kind) || a.ex_date - b.ex_date
    expect([...actions.rows].sort(byKey)).toEqual([...expected].sort(byKey))
    expect(expected.length).toBeGreaterThan(3)
  })

  it("maps 429 to RateLimited with Retry-After, 5xx to Retryable, 401 to Terminal", async () => {
    const req = { symbol: "AAPL", kind: "bars" as const, interval: "1day" as const, from: MON, to: MON + DAY_MS }
    server.script({ status: 429, retryAfter: "3" })
    await expect(provider().fetch(req)).rejects.toSatisfy((e) => e instanceof RateLimited && e.retryAfterMs === 3000)
    server.script({ status: 503 })
    await expect(provider().fetch(req)).rejects.toBeInstanceOf(Retryable)
    await expect(provider("wrong").fetch(req)).rejects.toSatisfy((e) => e instanceof Terminal && e.status === 401)
    expect(provider().supports("social_sentiment", "")).toBe(false)
    expect(provider().supports("bars", "tick")).toBe(false)
  })
})

describe("shared rate limit", () => {
  let ns: TestNamespace
  let server: PolygonServer
  beforeEach(async () => {
    ns = await testNamespace()
    server = await startPolygonServer({ pageSize: 50_000 })
  })
  afterEach(async () => {
    await server.close()
    await ns.cleanup()
  })

  it("two limiters on one id never start more than N requests in any second", async () => {
    const N = 8
    const a = openLimiter(ns.redisUrl, ns.prefix, "polygon", { requests_per_second: N, max_concurrent: 0 })
    const b = openLimiter(ns.redisUrl, ns.prefix, "polygon", { requests_per_second: N, max_concurrent: 0 })
    try {
      const pa = polygonProvider({ baseUrl: server.url, apiKey: server.apiKey, pageLimit: 50_000, timeoutMs: 5000 }, a)
      const pb = polygonProvider({ baseUrl: server.url, apiKey: server.apiKey, pageLimit: 50_000, timeoutMs: 5000 }, b)
      const req = (i: number) => ({ symbol: "AAPL", kind: "bars" as const, interval: "1day" as const, from: MON + i * DAY_MS, to: MON + (i + 1) * DAY_MS })
      await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? pa : pb).fetch(req(i))))
      const times = server.log.filter((r) => r.status === 200).map((r) => r.at)
      expect(times.length).toBe(24)
      expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(N)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
