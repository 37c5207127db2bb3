/**
 * What the cold tier costs in store requests, and its reads, before and after the move to
 * part objects listed in a manifest. Same run, same rows, both layouts:
 *   1. a full L1 backfill's cold rows (planner tasks, synthetic provider, provider-sized
 *      chunks) for N symbols (100 at full size): objects, bytes, PUTs, GETs, HEADs, LISTs,
 *      with the earlier per-day layout (read-merge-rewrite per object, bench/lib/legacy-lake.ts)
 *      as the baseline; today's figures include the compaction pass the tiering fiber runs;
 *   2. a cold read of one year of 1-minute bars, of a decade and of one year of daily bars: the router
 *      (`bars`) vs hyparquet reading the same objects' files directly (goal ≤ 1.2×), and
 *      vs the earlier layout (its objects found by listing, as the earlier read path did);
 *   3. a tiering pass moving 1M hot rows (100 symbols × 10k 1-minute bars) to Parquet:
 *      seconds and store requests, beside writing the same objects directly.
 * Every store is wrapped in a request counter (src/storage/counting-store.ts).
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { parquetReadObjects } from "hyparquet"
import { loadConfig } from "../../config/load.ts"
import { owedTargets, tasksFor } from "../../src/backfill/planner.ts"
import { rowsOf } from "../../src/backfill/providers/synthetic.ts"
import { DATA_TYPES } from "../../src/domain/data-types.ts"
import type { RowsOf, StorageKind } from "../../src/domain/rows.ts"
import { rowTime } from "../../src/domain/rows.ts"
import { DAY_MS, utcDay } from "../../src/domain/time.ts"
import { migrate, openPostgres } from "../../src/services/postgres.ts"
import { coldKeys, groupByPeriod, readCold, writeCold } from "../../src/storage/cold-store.ts"
import { runCompaction } from "../../src/storage/compaction.ts"
import { countingStore, zeroCounts, type StoreCounts } from "../../src/storage/counting-store.ts"
import { STORAGE_DDL, writeHot } from "../../src/storage/index.ts"
import { allObjects } from "../../src/storage/manifest.ts"
import { localObjectStore } from "../../src/storage/object-store.ts"
import { bufferOf, encodeParquet } from "../../src/storage/parquet.ts"
import { bars } from "../../src/storage/read-router.ts"
import { sampleBars } from "../../fixtures/sample-rows.ts"
import { runTiering } from "../../src/storage/tiering.ts"
import { writeLegacyCold } from "../lib/legacy-lake.ts"
import type { BenchFigure, Scenario } from "../scenario.ts"
import { time } from "./storage-read.ts"

export const READ_GOAL = 1.2
const AT = Date.UTC(2026, 0, 7, 15)

const informative = (metric: string, value: number, unit: string, baseline: string, base: number): BenchFigure => ({
  scenario: "lake", metric, value: Math.round(value), unit, baseline: { name: baseline, value: Math.round(base) },
  ratio: base > 0 ? Number((value / base).toFixed(4)) : 0, goal: "informative (ratio = today / earlier layout, lower is better)", pass: true
})

export const scenario: Scenario = {
  name: "lake",
  description: "cold tier: store requests of an L1 backfill (parts + manifest vs per-day objects), cold reads vs direct, a 1M-row tiering pass",
  run: async (ctx) => {
    const schema = `bench_lake_${process.pid}`
    const sql = openPostgres(ctx.databaseUrl, schema, 4)
    const figures: BenchFigure[] = []
    const config = loadConfig({ env: {} })
    // 100 symbols at full size; STRATA_BENCH_LAKE_SYMBOLS picks another count (the ratios are per symbol).
    const count = ctx.size === "tiny" ? 1 : Number(process.env["STRATA_BENCH_LAKE_SYMBOLS"] ?? 100)
    const symbols = Array.from({ length: count }, (_, i) => `S${String(i).padStart(3, "0")}`)
    const newCounts = zeroCounts()
    const oldCounts = zeroCounts()
    const newStore = countingStore(localObjectStore(join(ctx.tmpDir, "lake-new")), newCounts)
    const oldStore = countingStore(localObjectStore(join(ctx.tmpDir, "lake-old")), oldCounts)
    const lake = { sql, store: newStore }
    try {
      await migrate(sql, schema, STORAGE_DDL)
      // 1. The cold part of a full L1 backfill, chunk by chunk as the workers write it.
      let coldRows = 0
      const started = { new: 0, old: 0 }
      for (const symbol of symbols) {
        for (const t of tasksFor(symbol, owedTargets(config.retention, 1, DATA_TYPES, AT), new Map(), config.backfill.chunk_days, 1)) {
          const timeOf = rowTime[t.kind] as (r: RowsOf[StorageKind]) => number
          const rows = (rowsOf(config.providers.synthetic.seed, t) as RowsOf[StorageKind][]).filter((r) => timeOf(r) < t.hotFrom)
          if (rows.length === 0) continue
          coldRows += rows.length
          let t0 = performance.now()
          await writeCold(lake, t.kind, rows)
          started.new += performance.now() - t0
          t0 = performance.now()
          await writeLegacyCold(oldStore, t.kind, rows)
          started.old += performance.now() - t0
        }
      }
      const afterBackfill = { ...newCounts }
      const objectsBefore = (await allObjects(sql, newStore.location)).length
      await runCompaction(lake, { now: AT })
      const objects = await allObjects(sql, newStore.location)
      const oldKeys = await oldStore.list("")
      oldCounts.lists--
      oldCounts.listedKeys -= oldKeys.length
      const bytesNew = objects.reduce((n, o) => n + o.bytes, 0)
      let bytesOld = 0
      for (const k of oldKeys) bytesOld += (await oldStore.size(k)) ?? 0
      oldCounts.heads -= oldKeys.length
      ctx.log(`backfill of ${symbols.length} symbols: ${coldRows} cold rows; ${objectsBefore} parts → ${objects.length} objects after compaction vs ${oldKeys.length} per-day objects`)
      const req = (c: StoreCounts) => c.puts + c.gets + c.heads + c.lists + c.deletes
      figures.push(
        informative(`L1 backfill, ${symbols.length} symbols: objects held`, objects.length, "objects", "per-day layout", oldKeys.length),
        informative(`L1 backfill, ${symbols.length} symbols: bytes held`, bytesNew, "bytes", "per-day layout", bytesOld),
        informative(`L1 backfill, ${symbols.length} symbols: PUTs (incl. compaction)`, newCounts.puts, "requests", "per-day layout", oldCounts.puts),
        informative(`L1 backfill, ${symbols.length} symbols: PUTs before compaction`, afterBackfill.puts, "requests", "per-day layout", oldCounts.puts),
        informative(`L1 backfill, ${symbols.length} symbols: GETs (incl. compaction)`, newCounts.gets, "requests", "per-day layout", oldCounts.gets),
        informative(`L1 backfill, ${symbols.length} symbols: HEADs`, newCounts.heads, "requests", "per-day layout", oldCounts.heads),
        informative(`L1 backfill, ${symbols.length} symbols: LISTs`, newCounts.lists, "requests", "per-day layout", oldCounts.lists),
        informative(`L1 backfill, ${symbols.length} symbols: all store requests`, req(newCounts), "requests", "per-day layout", req(oldCounts)),
        informative(`L1 backfill, ${symbols.length} symbols: cold write time`, started.new, "ms", "per-day layout", started.old)
      )
      // 2. Cold reads of one symbol: a year of 1-minute bars, a decade of daily bars.
      const repeats = ctx.size === "tiny" ? 2 : 9
      const dailyRows = sampleBars("DAILY", "1day", Date.UTC(2016, 0, 1), 3653)
      await writeCold(lake, "bars", dailyRows)
      await writeLegacyCold(oldStore, "bars", dailyRows)
      const end = utcDay(AT) + DAY_MS
      const cases = [
        { name: "1 year of 1-minute bars", symbol: symbols[0] as string, interval: "1min", from: end - 365 * DAY_MS, to: end },
        { name: "10 years of daily bars", symbol: "DAILY", interval: "1day", from: Date.UTC(2016, 0, 1), to: Date.UTC(2026, 0, 1) },
        // A small read (one object, one row group): fixed per-read costs dominate.
        { name: "1 year of daily bars", symbol: "DAILY", interval: "1day", from: Date.UTC(2025, 0, 1), to: Date.UTC(2026, 0, 1) }
      ]
      for (const c of cases) {
        const keys = await coldKeys(lake, "bars", c.symbol, c.interval, c.from, c.to)
        const direct = async () => {
          const out: unknown[] = []
          for (const k of keys) out.push(...(await parquetReadObjects({ file: bufferOf(new Uint8Array(await readFile(join(newStore.location, k)))) })))
          return out
        }
        const n = (await bars(lake, c.symbol, c.interval, c.from, c.to)).length
        if ((await direct()).length < n) throw new Error(`${c.name}: direct read found fewer rows than the router`)
        const before = { ...newCounts }
        const viaRouter = await time(repeats, () => bars(lake, c.symbol, c.interval, c.from, c.to))
        const lists = newCounts.lists - before.lists
        const viaDirect = await time(repeats, direct)
        const o0 = { ...oldCounts }
        const viaOld = await time(repeats, () => readCold(oldStore, "bars", c.symbol, c.interval, c.from, c.to))
        const oldRequests = (req(oldCounts) - req(o0)) / (repeats + 1)
        const ratio = viaRouter / viaDirect
        figures.push({
          scenario: "lake", metric: `cold read, ${c.name} (${n} rows, ${keys.length} objects), router p50`, value: Number(viaRouter.toFixed(2)), unit: "ms",
          baseline: { name: "direct hyparquet read of the same objects", value: Number(viaDirect.toFixed(2)) }, ratio: Number(ratio.toFixed(2)),
          goal: `≤ ${READ_GOAL}× the direct read (router / direct)`, pass: ratio <= READ_GOAL
        })
        figures.push({
          ...informative(`cold read, ${c.name}: router p50 vs the per-day layout (listed, then read)`, viaRouter, "ms", "per-day layout", viaOld),
          value: Number(viaRouter.toFixed(2)), baseline: { name: "per-day layout", value: Number(viaOld.toFixed(2)) }
        })
        ctx.log(`${c.name}: router ${viaRouter.toFixed(1)} ms (${lists} LISTs), direct ${viaDirect.toFixed(1)} ms, per-day layout ${viaOld.toFixed(1)} ms (${oldRequests.toFixed(0)} requests per read)`)
      }
      // 3. A tiering pass moving 1M hot rows (100 symbols × 10k 1-minute bars, all past the hot window).
      const perSymbol = ctx.size === "tiny" ? 1_000 : 10_000
      const tierSymbols = Array.from({ length: ctx.size === "tiny" ? 3 : 100 }, (_, i) => `T${String(i).padStart(3, "0")}`)
      const from = end - 30 * DAY_MS
      const hotRows = tierSymbols.flatMap((s) => sampleBars(s, "1min", from, perSymbol))
      for (let i = 0; i < hotRows.length; i += 50_000) await writeHot(sql, "bars", hotRows.slice(i, i + 50_000))
      const tierCounts = zeroCounts()
      const tierStore = countingStore(newStore, tierCounts)
      const t0 = performance.now()
      const report = await runTiering({ sql, store: tierStore, layersOf: async (syms) => new Map(syms.map((s) => [s, 1 as const])) },
        config.retention, AT, tierSymbols)
      const tierMs = performance.now() - t0
      const rawCounts = zeroCounts()
      const rawStore = countingStore(localObjectStore(join(ctx.tmpDir, "lake-raw")), rawCounts)
      const r0 = performance.now()
      for (const [k, group] of groupByPeriod("bars", hotRows)) await rawStore.put(`${k.split("|").join("/")}.parquet`, encodeParquet("bars", group))
      const rawMs = performance.now() - r0
      figures.push({
        ...informative(`tiering pass, ${report.moved} rows × ${tierSymbols.length} symbols: seconds`, tierMs / 1000, "s", "encode + put the same objects directly", rawMs / 1000),
        value: Number((tierMs / 1000).toFixed(2)), baseline: { name: "encode + put the same objects directly", value: Number((rawMs / 1000).toFixed(2)) }
      })
      figures.push(informative(`tiering pass: store requests (PUT ${tierCounts.puts}, GET ${tierCounts.gets}, HEAD ${tierCounts.heads}, LIST ${tierCounts.lists}, DELETE ${tierCounts.deletes})`,
        req(tierCounts), "requests", "direct puts", req(rawCounts)))
      ctx.log(`tiering: ${report.moved} rows in ${(tierMs / 1000).toFixed(1)} s, ${req(tierCounts)} requests (LIST ${tierCounts.lists}); direct ${(rawMs / 1000).toFixed(1)} s`)
      await rawStore.close()
      return figures
    } finally {
      await newStore.close()
      await oldStore.close()
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
      await sql.end({ timeout: 2 })
    }
  }
}

export default scenario
