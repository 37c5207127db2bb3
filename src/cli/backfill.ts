/**
 * `strata backfill --symbols layer1|AAPL,MSFT [--data-types …]`: issue backfill commands by
 * hand (the manual override), written to the backfill stream of each symbol's partition
 * (streams/partition.ts) with the engine's fields and cause "manual", then show a progress
 * bar until the workers have finished them.
 * `layer1` (`layer2`, `layer3`) means every symbol the companies table marks qualified.
 * Does not fetch anything itself: the workers (`npm run engine` or `npm run workers`) do.
 */
import { readSnapshots } from "../../streams/snapshots-read.ts"
import { persistedLayer } from "../../machines/lifecycle.ts"
import { randomBytes } from "node:crypto"
import cliProgress from "cli-progress"
import { Effect, Schedule } from "effect"
import { DATA_TYPES, type Config, type DataType } from "../../config/schema.ts"
import { commandFields, MANUAL_CAUSE, type BackfillCommand } from "../../streams/backfill-wire.ts"
import { FINAL_STATUSES, PROGRESS_DDL, progressOf, recordEntryIds, registerCommands, type Progress } from "../backfill/progress.ts"
import type { Layer } from "../domain/layers.ts"
import { isValidSymbol, normaliseSymbol } from "../domain/symbols.ts"
import { parseEventTime } from "../domain/time.ts"
import { owedDataTypes } from "../engine/outputs.ts"
import { migrate, type Sql } from "../services/postgres.ts"
import type { Redis } from "../services/redis.ts"
import { groupsOf } from "../../streams/consumer.ts"
import { GROUPS, partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { withConnections } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"

export interface BackfillOptions {
  config?: string
  symbols: string
  dataTypes?: string
  layer?: string
  at?: string
  wait: boolean
  timeout: string
  json?: boolean
  progress: boolean
}

const fail = (message: string): never => {
  process.stderr.write(`strata backfill: ${message}\n`)
  process.exit(2)
}

const LAYER_SET = /^layer([123])$/i
/** Looks like a layer set; anything but layer1..3 is a typo, never a ticker named LAYER4. */
const LAYER_LIKE = /^layer\d+$/i

/** Reject what cannot be meant before anything is connected or issued. */
const checkSymbolsSpec = (spec: string): void => {
  if (LAYER_SET.test(spec.trim())) return
  const layerLike = spec.split(",").map((s) => s.trim()).filter((s) => LAYER_LIKE.test(s))
  if (layerLike.length > 0) fail(`unknown layer set ${layerLike.map((s) => `"${s}"`).join(", ")}: use layer1, layer2 or layer3 alone, or a list of symbols`)
}

/** The symbols and the layer each is backfilled at. */
const resolveSymbols = async (spec: string, layerOpt: Layer | undefined, sql: Sql, redis: Redis, config: Config) => {
  const set = LAYER_SET.exec(spec.trim())
  if (set) {
    const n = Number(set[1]) as 1 | 2 | 3
    const rows = await sql.unsafe(`SELECT symbol FROM companies WHERE layer${n}_qualified ORDER BY liquidity_score DESC NULLS LAST, symbol`)
    return rows.map((r) => ({ symbol: String(r["symbol"]), layer: layerOpt ?? (n as Layer) }))
  }
  const symbols = [...new Set(spec.split(",").map(normaliseSymbol).filter((s) => s !== ""))]
  const bad = symbols.filter((s) => !isValidSymbol(s))
  if (bad.length > 0) fail(`invalid symbols: ${bad.join(", ")}`)
  if (symbols.length === 0) fail("--symbols names no symbol")
  const snapshots = await readSnapshots(redis, { prefix: config.redis.prefix, partitions: config.partitions }, symbols)
  return symbols.map((symbol, i) => {
    const current = persistedLayer(snapshots[i]) ?? 0
    return { symbol, layer: layerOpt ?? (Math.max(1, current) as Layer) }
  })
}

const parseDataTypes = (text: string | undefined): DataType[] | undefined => {
  if (text === undefined) return undefined
  const list = text.split(",").map((s) => s.trim()).filter((s) => s !== "")
  const unknown = list.filter((d) => !(DATA_TYPES as readonly string[]).includes(d))
  if (unknown.length > 0) fail(`unknown data types ${unknown.join(", ")} (known: ${DATA_TYPES.join(", ")})`)
  return list as DataType[]
}

const workerConsumers = async (redis: Redis, stream: string): Promise<number> => {
  try {
    return (await groupsOf(redis, stream)).find((g) => g.name === GROUPS.workers)?.consumers ?? 0
  } catch {
    return 0
  }
}

const summary = (rows: readonly Progress[]) => ({
  commands: rows.length,
  finished: rows.filter((r) => FINAL_STATUSES.includes(r.status)).length,
  planned: rows.reduce((n, r) => n + r.planned, 0),
  done: rows.reduce((n, r) => n + r.done, 0),
  fetched: rows.reduce((n, r) => n + r.fetched, 0),
  written: rows.reduce((n, r) => n + r.written, 0),
  dead: rows.filter((r) => r.status === "dead").length
})

export const backfillCommand = oneShot("backfill", async (opts: BackfillOptions): Promise<void> => {
  const config = configOrExit(opts.config)
  const layerOpt = opts.layer === undefined ? undefined : Number(opts.layer)
  if (layerOpt !== undefined && ![1, 2, 3].includes(layerOpt)) fail(`--layer must be 1, 2 or 3, got "${opts.layer}"`)
  const at = opts.at === undefined ? Date.now() : parseEventTime(opts.at)
  if (at === undefined) fail(`--at must be milliseconds or ISO-8601, got "${opts.at}"`)
  const dataTypesOpt = parseDataTypes(opts.dataTypes)
  checkSymbolsSpec(opts.symbols)
  const timeoutMs = Number(opts.timeout) * 1000
  await withConnections(config, async (conn) => {
    await migrate(conn.sql, config.postgres.schema, PROGRESS_DDL)
    const targets = await resolveSymbols(opts.symbols, layerOpt as Layer | undefined, conn.sql, conn.redis, config)
    const nonce = randomBytes(3).toString("hex")
    const commands: BackfillCommand[] = targets.flatMap(({ symbol, layer }) => {
      const dataTypes = dataTypesOpt ?? owedDataTypes(config.retention, layer)
      if (dataTypes.length === 0) return []
      return [{ id: `bf-manual-${at}-${nonce}-${symbol}`, symbol, layer, from: 0 as Layer, dataTypes, at: at as number, cause: MANUAL_CAUSE, priority: layer }]
    })
    const count = config.partitions
    const keys = partitionKeys(config.redis.prefix, 0, count)
    // Registered first, so progress shows them queued from the moment they are on the stream.
    await registerCommands(conn.sql, commands)
    // One pipeline per partition: its keys share one slot on a Cluster.
    const byPartition = new Map<number, BackfillCommand[]>()
    for (const c of commands) {
      const p = symbolPartition(c.symbol, count)
      const group = byPartition.get(p)
      if (group) group.push(c)
      else byPartition.set(p, [c])
    }
    const entryIds: (readonly [string, string])[] = []
    for (const [p, group] of byPartition) {
      const pipeline = conn.redis.pipeline()
      for (const c of group) pipeline.xadd(partitionKeys(config.redis.prefix, p, count).backfill, "*", ...commandFields(c))
      const sent = (await pipeline.exec()) ?? []
      for (const [err] of sent) if (err) throw err
      group.forEach((c, i) => entryIds.push([c.id, String(sent[i]?.[1])]))
    }
    // With its entry ID, a command trimmed from the stream before any worker read it is found and failed.
    await recordEntryIds(conn.sql, entryIds)
    const where = count === 1 ? keys.backfill : `the backfill streams of ${byPartition.size} partition(s)`
    if (!opts.json) process.stdout.write(`issued ${commands.length} backfill command(s) to ${where}\n`)
    if (!opts.wait || commands.length === 0) {
      if (opts.json) process.stdout.write(`${JSON.stringify({ issued: commands.map((c) => c.id) })}\n`)
      else if (commands.length === 0) process.stdout.write("nothing to fetch: no symbol or data type is owed\n")
      return
    }
    const ids = commands.map((c) => c.id)
    if (!opts.json && (await workerConsumers(conn.redis, keys.backfill)) === 0) {
      process.stdout.write(`no worker has joined group ${GROUPS.workers} yet: start \`npm run engine\` or \`npm run workers\`\n`)
    }
    const bar = opts.progress && !opts.json && process.stdout.isTTY
      ? new cliProgress.SingleBar({ format: "backfill [{bar}] {value}/{total} tasks | {finished}/{commands} commands | {written} rows written", hideCursor: true }, cliProgress.Presets.shades_classic)
      : undefined
    // The bar starts once there are tasks: commands whose data is already held plan none.
    let barStarted = false
    const started = performance.now()
    const poll = Effect.promise(() => progressOf(conn.sql, ids)).pipe(
      Effect.map(summary),
      Effect.tap((s) => Effect.sync(() => {
        if (!bar || s.planned === 0) return
        if (!barStarted) bar.start(s.planned, 0, { finished: 0, commands: commands.length, written: 0 })
        barStarted = true
        bar.setTotal(s.planned)
        bar.update(s.done, { finished: s.finished, commands: s.commands, written: s.written })
      }))
    )
    const last = await Effect.runPromise(poll.pipe(
      Effect.repeat({
        schedule: Schedule.spaced("250 millis"),
        until: (s) => s.finished === s.commands || (timeoutMs > 0 && performance.now() - started > timeoutMs)
      })
    ))
    if (barStarted) bar?.stop()
    const rows = await progressOf(conn.sql, ids)
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ...last, progress: rows })}\n`)
    } else if (last.planned === 0 && last.finished === last.commands && last.dead === 0) {
      process.stdout.write(`${last.finished}/${last.commands} finished: nothing to fetch, the data owed is already held\n`)
    } else {
      process.stdout.write(`${last.finished}/${last.commands} finished: ${last.done} tasks, ${last.fetched} rows fetched, ${last.written} written, ${last.dead} dead\n`)
      for (const r of rows.filter((r) => r.status === "dead")) process.stdout.write(`  ${r.symbol}: dead: ${r.last_error ?? ""}\n`)
      if (last.finished < last.commands) process.stdout.write("timed out waiting; are workers running? (npm run engine or npm run workers)\n")
    }
    process.exitCode = last.dead > 0 || last.finished < last.commands ? 1 : 0
  })
})
