/**
 * `strata compact` and `strata lake migrate|verify|files`: the cold tier's maintenance
 * commands. Each opens the configured lake and its manifest, runs one pass and prints its
 * report (text, or JSON with --json).
 *   compact   merge the parts of closed periods (or, with --full, of every period)
 *   migrate   move a lake of the earlier per-day layout to part objects, online
 *   verify    compare manifest and store; --deep checks every checksum; --repair fixes
 *   files     the manifest's objects of one series, as paths for DuckDB or pyarrow
 * Exit code 1 when verify finds a difference it did not repair.
 */
import { join } from "node:path"
import { parseEventTime } from "../domain/time.ts"
import { isS3NetworkError, s3Failure } from "../services/dependency-errors.ts"
import { migrate } from "../services/postgres.ts"
import { coldKeys } from "../storage/cold-read.ts"
import { runCompaction } from "../storage/compaction.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { migrateLake, verifyLake } from "../storage/lake.ts"
import { probeStore } from "../storage/object-store.ts"
import type { Lake } from "../storage/cold-commit.ts"
import type { StorageKind } from "../domain/rows.ts"
import type { Config } from "../../config/schema.ts"
import { withConnections } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"

const withLake = async (configFile: string | undefined, fn: (lake: Lake, config: Config) => Promise<void>): Promise<void> => {
  const config = configOrExit(configFile)
  await withConnections(config, async ({ sql, store }) => {
    await migrate(sql, config.postgres.schema, STORAGE_DDL)
    await probeStore(store).then(() => fn({ sql, store }, config)).catch((e: unknown) => {
      throw isS3NetworkError(e) ? s3Failure(config.storage.s3.endpoint, config.storage.s3.bucket, e) : e
    })
  })
}

const print = (json: boolean | undefined, report: unknown, text: string) =>
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${text}\n`)

export const compactCommand = oneShot("compact", async (opts: { config?: string; full?: boolean; at?: string; symbols?: string; json?: boolean }) => {
  const now = opts.at === undefined ? Date.now() : parseEventTime(opts.at)
  if (now === undefined) {
    process.stderr.write(`--at: expected ms since the epoch or an ISO-8601 time, got "${opts.at}"\n`)
    process.exitCode = 2
    return
  }
  const symbols = opts.symbols ? opts.symbols.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean) : undefined
  await withLake(opts.config, async (lake) => {
    const r = await runCompaction(lake, { now, full: opts.full ?? false, ...(symbols ? { symbols } : {}) })
    print(opts.json, r, `periods merged: ${r.periods}  parts: ${r.parts}  rows: ${r.rows}  leftovers deleted: ${r.swept}  (lake: ${lake.store.location})`)
  })
})

export const lakeMigrateCommand = oneShot("lake migrate", async (opts: { config?: string; json?: boolean }) => {
  await withLake(opts.config, async (lake) => {
    const r = await migrateLake(lake, (phase, done, total) => {
      if (!opts.json && (done === total || done % 100 === 0)) process.stderr.write(`${phase}: ${done}/${total}\n`)
    })
    print(opts.json, r, `adopted: ${r.adopted} objects  periods rewritten: ${r.compaction.periods} (from ${r.compaction.parts} objects, ${r.compaction.rows} rows)`)
  })
})

export const lakeVerifyCommand = oneShot("lake verify", async (opts: { config?: string; deep?: boolean; repair?: boolean; json?: boolean }) => {
  await withLake(opts.config, async (lake) => {
    const r = await verifyLake(lake, { deep: opts.deep ?? false, repair: opts.repair ?? false })
    const differences = r.missing.length + r.damaged.length + r.pending.length + r.unnamed.length
    const lines = [
      `objects in the manifest: ${r.objects}  missing from the store: ${r.missing.length}  damaged: ${r.damaged.length}`,
      `in the store only: ${r.unnamed.length} unnamed, ${r.pending.length} left by writers  foreign keys: ${r.foreign.length}`,
      ...[...r.missing.map((k) => `missing  ${k}`), ...r.damaged.map((k) => `damaged  ${k}`), ...r.unnamed.map((k) => `unnamed  ${k}`),
        ...r.pending.map((k) => `leftover ${k}`)].slice(0, 50)
    ]
    if (r.repaired) lines.push(`repaired: adopted ${r.repaired.adopted}, deleted ${r.repaired.deleted}, forgotten ${r.repaired.forgotten} (their coverage cleared)`)
    print(opts.json, r, lines.join("\n"))
    if (differences > 0 && !r.repaired) process.exitCode = 1
  })
})

const KINDS: Record<string, StorageKind> = { bars: "bars", news: "news", actions: "corporate_actions", sentiment: "social_sentiment" }

export const lakeFilesCommand = oneShot("lake files", async (what: string, opts: { config?: string; symbol: string; interval?: string; from?: string; to?: string; json?: boolean }) => {
  const kind = KINDS[what]
  if (!kind) {
    process.stderr.write(`strata lake files: expected bars, news, actions or sentiment, got "${what}"\n`)
    process.exitCode = 2
    return
  }
  const from = opts.from === undefined ? Number.NEGATIVE_INFINITY : parseEventTime(opts.from)
  const to = opts.to === undefined ? Number.POSITIVE_INFINITY : parseEventTime(opts.to)
  if (from === undefined || to === undefined) {
    process.stderr.write("--from/--to: expected ms since the epoch or an ISO-8601 time\n")
    process.exitCode = 2
    return
  }
  await withLake(opts.config, async (lake, config) => {
    const keys = await coldKeys(lake, kind, opts.symbol.trim().toUpperCase(), kind === "bars" ? opts.interval ?? "1day" : "", from, to)
    const base = config.storage.s3.bucket ? `s3://${config.storage.s3.bucket}/${config.storage.s3.prefix}` : ""
    const paths = keys.map((k) => (base ? `${base}${k}` : join(lake.store.location, k)))
    print(opts.json, paths, paths.join("\n"))
  })
})
