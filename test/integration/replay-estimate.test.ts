/**
 * The replay's provider-request estimate agrees with the requests the backfill workers
 * make for the same commands when nothing is held: counted by the synthetic provider
 * (backfill_progress.requests) and at a Polygon-shaped server that pages aggregates by
 * `page_limit` rows (its own request log).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import type { DataType } from "../../config/schema.ts"
import { commandFields, MANUAL_CAUSE, type BackfillCommand } from "../../streams/backfill-wire.ts"
import type { Layer } from "../../src/domain/layers.ts"
import { estimateRequests } from "../../src/replay/estimate.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { runWorkers, SMALL_CHUNKS, SMALL_RETENTION, waitForFinished } from "../helpers/backfill-fixture.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"
import { startPolygonServer, type PolygonServer } from "../helpers/polygon-server.ts"

const ALL: DataType[] = ["market_data", "intraday", "news", "corporate_actions", "social_sentiment"]
// Different symbols (nothing shared is held) and event times (chunk boundaries fall differently).
const COMMANDS: BackfillCommand[] = [
  ["AAPL", Date.UTC(2026, 0, 7, 15)], ["MSFT", Date.UTC(2026, 1, 2, 18)], ["NVDA", Date.UTC(2025, 6, 4, 12)]
].map(([symbol, at], i) => ({
  id: `bf-est-${i}`, symbol: symbol as string, layer: 2 as Layer, from: 0 as Layer, dataTypes: ALL, at: at as number, cause: MANUAL_CAUSE, priority: 2
}))

describe("replay request estimate", () => {
  let ns: TestNamespace | undefined
  let server: PolygonServer | undefined
  let workers: { stop: () => Promise<void> } | undefined
  let dir: string | undefined
  afterEach(async () => {
    await workers?.stop()
    await server?.close()
    await ns?.cleanup()
    if (dir) rmSync(dir, { recursive: true, force: true })
    workers = server = ns = dir = undefined
  })

  const run = async (backfill: Record<string, unknown>, providers: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) => {
    dir = mkdtempSync(join(tmpdir(), "strata-est-"))
    ns = await testNamespace({
      retention: SMALL_RETENTION, storage: { lake: join(dir, "lake") },
      // No healing pass: the requests compared are the commands' own.
      backfill: { workers: 2, block_ms: 100, chunk_days: SMALL_CHUNKS, heal: { every: "0m" }, ...backfill }, providers
    })
    workers = await runWorkers(ns.config, ns, env)
    for (const c of COMMANDS) await ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*", ...commandFields(c))
    await waitForFinished(ns.sql, COMMANDS.length, 240_000)
    const rows = await ns.sql<{ status: string; requests: number }[]>`SELECT status, requests::int AS requests FROM backfill_progress ORDER BY command_id`
    expect(rows.map((r) => r.status)).toEqual(COMMANDS.map(() => "done"))
    const estimate = COMMANDS.reduce((n, c) => n + estimateRequests(ns!.config, { layer: c.layer, dataTypes: c.dataTypes, at: c.at }), 0)
    return { estimate, made: rows.reduce((n, r) => n + r.requests, 0) }
  }

  it("equals the requests made at the synthetic provider", async () => {
    const { estimate, made } = await run({ provider: "synthetic" })
    expect(made).toBeGreaterThan(COMMANDS.length * 5)
    expect(estimate).toBe(made)
  }, 300_000)

  it("equals the requests a Polygon-shaped server answers, pages included", async () => {
    server = await startPolygonServer({ pageSize: 500 })
    const { estimate, made } = await run(
      { provider: "polygon" },
      { polygon: { base_url: server.url, page_limit: 500, rate_limit: { requests_per_second: 0, max_concurrent: 0 } } },
      { POLYGON_API_KEY: server.apiKey }
    )
    const served = server.served()
    expect(served).toBe(made)
    // Some aggregates needed more than one page.
    expect(new Set(server.log.map((r) => r.key)).size).toBeLessThan(served)
    expect(estimate).toBe(served)
  }, 300_000)
})
