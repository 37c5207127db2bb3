/**
 * What a small read through the router costs, beside its rows: a year of daily bars held
 * cold in one object is one GET (no HEAD, no LIST), and the two statements every read
 * issues (the hot-table page and the manifest lookup) are prepared once per connection
 * and then reused, so each is one round trip to PostgreSQL instead of two.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { openPostgres, type Sql } from "../../src/services/postgres.ts"
import { countingStore, zeroCounts } from "../../src/storage/counting-store.ts"
import { STORAGE_DDL, localObjectStore, writeCold, writeHot } from "../../src/storage/index.ts"
import { bars } from "../../src/storage/read-router.ts"
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
