/**
 * What a read through the router costs, beside its rows: a year of daily bars held cold in
 * one object is one GET (no HEAD, no LIST), and the two statements every read issues (the
 * hot-table page and the manifest lookup) are prepared once per connection and then
 * reused, so each is one round trip to PostgreSQL instead of two; a hot page is an index
 * range scan in key order, not a sort of every row of the range. A whole-range read
 * fetches the next object while it decodes the one before; when compaction replaces that
 * object in between, the read asks the manifest again and still returns every row once.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { openPostgres, type Sql } from "../../src/services/postgres.ts"
import { compactPeriod } from "../../src/storage/compaction.ts"
import { countingStore, zeroCounts } from "../../src/storage/counting-store.ts"
import { STORAGE_DDL, localObjectStore, writeCold, writeHot, type ObjectStore } from "../../src/storage/index.ts"
import { periodSpan } from "../../src/storage/layout.ts"
import { objectsOverlapping } from "../../src/storage/manifest.ts"
import { bars, seriesChunks } from "../../src/storage/read-router.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { testNamespaceWith, type TestNamespace } from "../helpers/namespace.ts"

const YEAR = Date.UTC(2023, 0, 1)
const YEAR_END = Date.UTC(2024, 0, 1)

let ns: TestNamespace
// One connection, so the statements it prepared are the ones pg_prepared_statements shows.
let one: Sql

beforeAll(async () => {
  ns = await testNamespaceWith(STORAGE_DDL)
  one = openPostgres(ns.databaseUrl, ns.schema, 1)
})

afterAll(async () => {
  await one?.end({ timeout: 2 })
  await ns?.cleanup()
})

it("a year of daily bars held cold is one GET, and each read's statements are prepared once and reused", async () => {
  const counts = zeroCounts()
  const lake = { sql: one, store: countingStore(localObjectStore(ns.config.storage.lake), counts) }
  const daily = sampleBars("DLY", "1day", YEAR, 365)
  await writeCold(lake, "bars", daily)
  // A hot row of another series: the hot table is not empty, its page query still runs.
  await writeHot(one, "bars", sampleBars("HOT", "1day", YEAR, 3))
  const before = { ...counts }
  for (let i = 0; i < 3; i++) expect(await bars(lake, "DLY", "1day", YEAR, YEAR_END)).toEqual(daily)
  expect({ gets: counts.gets - before.gets, heads: counts.heads - before.heads, lists: counts.lists - before.lists })
    .toEqual({ gets: 3, heads: 0, lists: 0 })
  const prepared = (await one<{ statement: string }[]>`SELECT statement FROM pg_prepared_statements`).map((r) => r.statement)
  expect(prepared.filter((s) => /FROM cold_objects\s/.test(s) && s.includes("max_ms >= $5"))).toHaveLength(1)
  expect(prepared.filter((s) => /FROM market_data\s/.test(s) && s.includes("LIMIT"))).toHaveLength(1)
})

it("a whole-range read whose fetched-ahead object is compacted away meanwhile returns every row once", async () => {
  const local = localObjectStore(`${ns.config.storage.lake}/ahead`)
  const series = { kind: "bars" as const, symbol: "AHD", interval: "1min" }
  const all = sampleBars("AHD", "1min", Date.UTC(2024, 0, 31), 5 * 1440) // Jan 31 – Feb 4
  const day = (d: number) => all.filter((b) => b.ts >= Date.UTC(2024, 0, d) && b.ts < Date.UTC(2024, 0, d + 2))
  // January's object, then February in two parts with disjoint times: three objects read one by one.
  await writeCold({ sql: ns.sql, store: local }, "bars", all.filter((b) => b.ts < Date.UTC(2024, 1, 1)))
  await writeCold({ sql: ns.sql, store: local }, "bars", day(32))
  await writeCold({ sql: ns.sql, store: local }, "bars", day(34))
  const [january, ...february] = await objectsOverlapping(ns.sql, local.location, series, -Infinity, Infinity)
  expect(february).toHaveLength(2)
  // While January's bytes are being fetched, compaction replaces February's parts by one object.
  const fetched: string[] = []
  let compacted = 0
  const store: ObjectStore = {
    ...local,
    get: async (key, range) => {
      fetched.push(key)
      if (key === january!.key && compacted === 0) {
        compacted = await compactPeriod({ sql: ns.sql, store: local }, series, periodSpan("bars", "1min", Date.UTC(2024, 1, 1)).from)
      }
      return local.get(key, range)
    }
  }
  expect(await bars({ sql: ns.sql, store }, "AHD", "1min", -Infinity, Infinity)).toEqual(all)
  expect(compacted).toBe(2)
  // The first February part was asked for (ahead, and gone), then, from a fresh manifest
  // answer, the object that replaced both parts.
  const [, merged] = await objectsOverlapping(ns.sql, local.location, series, -Infinity, Infinity)
  expect(fetched.indexOf(february[0]!.key)).toBe(1)
  expect(fetched.at(-1)).toBe(merged!.key)
  expect(fetched).not.toContain(february[1]!.key)
})

it("a whole-range read has the next object fetched while the one before is decoded; a paged read does not", async () => {
  const local = localObjectStore(`${ns.config.storage.lake}/next`)
  const days = sampleBars("NXT", "1day", Date.UTC(2018, 0, 1), 800) // 2018 – early 2020: two decade objects
  await writeCold({ sql: ns.sql, store: local }, "bars", days)
  const [first, second] = await objectsOverlapping(ns.sql, local.location, { kind: "bars", symbol: "NXT", interval: "1day" }, -Infinity, Infinity)
  const firstPage = async (readAhead: boolean): Promise<string[]> => {
    const fetched: string[] = []
    const store: ObjectStore = { ...local, get: (key, range) => { fetched.push(key); return local.get(key, range) } }
    const chunks = seriesChunks({ sql: ns.sql, store }, "bars", "NXT", "1day", -Infinity, Infinity, { chunkRows: 100, readAhead })
    const page = await chunks.next()
    expect(page.value).toEqual(days.slice(0, 100))
    await chunks.return(undefined)
    return fetched
  }
  expect(await firstPage(true)).toEqual([first!.key, second!.key])
  expect(await firstPage(false)).toEqual([first!.key])
})

it("a page of the hot table is read in index order: no sort of the rows of the range", async () => {
  const minute = sampleBars("IDX", "1min", YEAR, 20_000)
  await writeHot(one, "bars", minute)
  // Settle what the planner reads (statistics, and the visibility map an insert-triggered
  // autovacuum would otherwise update at a moment of its own choosing), so the plans below
  // are the same on every run.
  await one`VACUUM ANALYZE market_data`
  const pages: number[] = []
  for await (const rows of seriesChunks({ sql: one, store: localObjectStore(ns.config.storage.lake) }, "bars", "IDX", "1min", YEAR, YEAR_END, { chunkRows: 500 })) {
    pages.push(rows.length)
    if (pages.length === 2) break
  }
  expect(pages).toEqual([500, 500])
  // The two statements of the keyset pages (first page, later pages), as prepared on this connection.
  const statements = (await one<{ name: string; statement: string }[]>`SELECT name, statement FROM pg_prepared_statements`)
    .filter((r) => /FROM market_data\s/.test(r.statement) && r.statement.includes("LIMIT"))
  const first = statements.find((r) => !r.statement.includes("$6"))!
  const later = statements.find((r) => r.statement.includes("$6"))!
  // postgres.js names its statements at random; a name may start with a digit, so it is quoted.
  const plan = async (sql: string) => JSON.stringify(await one.unsafe(`EXPLAIN (FORMAT JSON) ${sql}`))
  for (const mode of ["force_custom_plan", "force_generic_plan"]) {
    await one.unsafe(`SET plan_cache_mode = ${mode}`)
    const a = await plan(`EXECUTE "${first.name}"('IDX', '1min', ${YEAR}, ${YEAR_END}, 500)`)
    const b = await plan(`EXECUTE "${later.name}"('IDX', '1min', ${YEAR}, ${YEAR_END}, ${minute[499]!.ts}, 500)`)
    for (const p of [a, b]) {
      expect(p).toContain("Index Scan")
      expect(p).not.toContain('"Node Type":"Sort"')
    }
  }
  await one.unsafe("RESET plan_cache_mode")
})
