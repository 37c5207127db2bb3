/**
 * `GET /api/bars` pages against real PostgreSQL and a real lake.
 * Property: for random bar sets split between the tiers (some rows caught in both, as
 * mid-tiering) and random page sizes, following `next` from the first page to the last
 * returns every bar of the range exactly once, in order. And: a page stops reading at its
 * end (rows read from each tier are counted, far below the range), and a client that goes
 * away mid-answer stops the read without harming the server.
 */
import { connect } from "node:net"
import { fc } from "@fast-check/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Bar } from "../../src/domain/rows.ts"
import { DAY_MS } from "../../src/domain/time.ts"
import { MAX_LIMIT, startApiServer, type PageResult } from "../../src/http/api-bars.ts"
import { STORAGE_DDL, localObjectStore, writeHot, writeRows, type ObjectStore } from "../../src/storage/index.ts"
import { INTERVAL_MS, sampleBars } from "../../fixtures/sample-rows.ts"
import { objectsOverlapping } from "../../src/storage/manifest.ts"
import { pollUntil } from "../../src/services/poll.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const T0 = Date.UTC(2024, 0, 1)

let ns: TestNamespace
let lake: ObjectStore
let api: Awaited<ReturnType<typeof startApiServer>>
const pages: PageResult[] = []
const opened: string[] = []

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  lake = localObjectStore(ns.config.storage.lake)
  // Objects the API opens are recorded, to show a page opens only the ones it needs.
  const watched: ObjectStore = { ...lake, get: (key, range) => { opened.push(key); return lake.get(key, range) } }
  api = await startApiServer({ sql: ns.sql, store: watched }, { onPage: (p) => pages.push(p) })
})

afterAll(async () => {
  await api?.close()
  await ns?.cleanup()
})

interface Page { bars: Bar[]; count: number; next: string | null; limit: number }

const url = (q: Record<string, string | number>) =>
  `http://127.0.0.1:${api.port}/api/bars?${new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]))}`

const getPage = async (q: Record<string, string | number>): Promise<Page> => {
  const r = await fetch(url(q))
  expect(r.status, await r.clone().text()).toBe(200)
  return (await r.json()) as Page
}

const inOnePlace = (all: readonly Bar[], from: number, to: number) =>
  [...new Map(all.map((b) => [b.ts, b])).values()].filter((b) => b.ts >= from && b.ts < to).sort((a, b) => a.ts - b.ts)

let run = 0
describe("GET /api/bars pages", () => {
  it("returns every bar exactly once across pages, for random page sizes (seeded)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("1day", "1hour", "5min", "1min") as fc.Arbitrary<"1day" | "1hour" | "5min" | "1min">,
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 400 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 300 }),
        fc.tuple(fc.integer({ min: -100, max: 3100 }), fc.integer({ min: 1, max: 3300 })),
        async (interval, steps, boundary, doubled, limit, [a, len]) => {
          const symbol = `PG${run++}`
          const step = INTERVAL_MS[interval]
          const source = sampleBars(symbol, interval, T0, 3001)
          const rows = [...new Set(steps)].map((i) => source[i] as Bar)
          const hotFrom = T0 + Math.floor(boundary * 3001) * step
          await writeRows({ sql: ns.sql, store: lake }, "bars", rows, hotFrom)
          await writeHot(ns.sql, "bars", rows.filter((b) => b.ts < hotFrom).slice(0, doubled))
          const from = T0 + a * step
          const to = from + len * step
          const got: Bar[] = []
          let next: string | null = null
          let n = 0
          do {
            const page: Page = await getPage({ symbol, interval, from, to, limit, ...(next === null ? {} : { next }) })
            expect(page.count).toBe(page.bars.length)
            expect(page.bars.length).toBeLessThanOrEqual(limit)
            // Only the last page is short; a full page may still be the last one.
            if (page.next !== null) expect(page.bars.length).toBe(limit)
            got.push(...page.bars)
            next = page.next
            expect(++n).toBeLessThan(3100)
          } while (next !== null)
          expect(got).toEqual(inOnePlace(rows, from, to))
        }
      ),
      { seed: 20_240_101, numRuns: 20 }
    )
  }, 600_000)

  it("stops reading at the page's end: rows read from each tier are counted", async () => {
    // 40 days of 1-minute bars: 35 cold, in two month objects (January, 1-4 February), 5 hot.
    const minute = sampleBars("CAP", "1min", T0, 40 * 1440)
    await writeRows({ sql: ns.sql, store: lake }, "bars", minute, T0 + 35 * DAY_MS)
    const range = { symbol: "CAP", interval: "1min", from: T0, to: T0 + 40 * DAY_MS }
    const series = { kind: "bars" as const, symbol: "CAP", interval: "1min" }
    const [january, ...others] = await objectsOverlapping(ns.sql, lake.location, series, T0, T0 + 35 * DAY_MS)
    expect(others.length).toBeGreaterThan(0)

    pages.length = 0
    opened.length = 0
    const first = await getPage({ ...range, limit: 1000 })
    expect(first.bars).toEqual(minute.slice(0, 1000))
    expect(first.next).toBe(String(minute[999]!.ts))
    const read = pages[0]!.stats
    // The hot side read one page of its own, the cold side January's object alone: not the
    // 50,400 cold rows, and no other object opened.
    expect(read.hotRows).toBeLessThanOrEqual(1001)
    expect(read.coldRows).toBeLessThanOrEqual(january!.rows)
    expect(new Set(opened)).toEqual(new Set([january!.key]))

    // Deep in the hot tier: the keyset page starts at the cursor, the cold side reads nothing.
    pages.length = 0
    const deep = await getPage({ ...range, limit: 500, next: minute[36 * 1440]!.ts })
    expect(deep.bars).toEqual(minute.slice(36 * 1440 + 1, 36 * 1440 + 501))
    expect(pages[0]!.stats).toEqual({ hotRows: 501, coldRows: 0 })
  })

  it("names a bad limit or next token, and answers HEAD without a body", async () => {
    for (const [q, message] of [
      [{ limit: 0 }, /^limit: expected a whole number from 1 to 100000/],
      [{ limit: MAX_LIMIT + 1 }, /^limit:/],
      [{ limit: "ten" }, /^limit:/],
      [{ next: "1.5" }, /^next: expected the token/],
      [{ next: "%zz" }, /^next:/]
    ] as const) {
      const r = await fetch(url({ symbol: "CAP", interval: "1min", ...q }))
      expect(r.status).toBe(400)
      expect(((await r.json()) as { error: string }).error).toMatch(message)
    }
    const head = await fetch(url({ symbol: "CAP", interval: "1min" }), { method: "HEAD" })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe("")
  })

  it("a client that disconnects mid-answer stops the read; the server goes on answering", async () => {
    const minute = sampleBars("GONE", "1min", T0, 100_000)
    await writeRows({ sql: ns.sql, store: lake }, "bars", minute, T0 + 30 * DAY_MS)
    pages.length = 0
    const target = `/api/bars?symbol=GONE&interval=1min&from=${T0}&to=${T0 + 100 * DAY_MS}&limit=${MAX_LIMIT}`
    const firstBytes = await new Promise<string>((resolve, reject) => {
      const socket = connect(api.port, "127.0.0.1", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`))
      socket.once("data", (c) => { socket.destroy(); resolve(c.toString("latin1")) })
      socket.once("error", reject)
    })
    expect(firstBytes).toMatch(/^HTTP\/1\.1 200/)
    await pollUntil("the abandoned page to end", () => pages.length > 0, 120_000)
    const page = pages[0]
    expect(page!.aborted).toBe(true)
    expect(page!.count).toBeLessThan(MAX_LIMIT)
    expect(page!.stats.hotRows + page!.stats.coldRows).toBeLessThan(100_000)
    const after = await getPage({ symbol: "GONE", interval: "1min", from: T0, to: T0 + DAY_MS, limit: 10 })
    expect(after.bars).toEqual(minute.slice(0, 10))
  })
})
