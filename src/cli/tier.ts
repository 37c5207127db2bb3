/** `strata tier --now`: one tiering pass (hot → Parquet, retention, demotions applied) and its report. */
import { parseEventTime } from "../domain/time.ts"
import { symbolLayers } from "../engine/tiering.ts"
import { migrate } from "../services/postgres.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { probeStore } from "../storage/object-store.ts"
import { runTiering } from "../storage/tiering.ts"
import { withConnections } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"
import { isS3NetworkError, s3Failure } from "../services/dependency-errors.ts"

export const tierCommand = oneShot("tier", async (opts: { config?: string; now?: boolean; at?: string; symbols?: string; json?: boolean }): Promise<void> => {
  if (!opts.now) {
    process.stderr.write("strata tier runs one pass with --now; the engine runs tiering on its schedule (storage.tiering.every)\n")
    process.exitCode = 2
    return
  }
  const at = opts.at === undefined ? Date.now() : parseEventTime(opts.at)
  if (at === undefined) {
    process.stderr.write(`--at: expected ms since the epoch or an ISO-8601 time, got "${opts.at}"\n`)
    process.exitCode = 2
    return
  }
  const config = configOrExit(opts.config)
  await withConnections(config, async (conn) => {
    const store = conn.store
    await migrate(conn.sql, config.postgres.schema, STORAGE_DDL)
    const symbols = opts.symbols ? opts.symbols.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean) : undefined
    const report = await probeStore(store).then(() => runTiering(
      { sql: conn.sql, store, layersOf: symbolLayers(conn.redis, conn.sql, { prefix: config.redis.prefix, partitions: config.partitions }) },
      config.retention, at, symbols
    )).catch((e: unknown) => {
      throw isS3NetworkError(e) ? s3Failure(config.storage.s3.endpoint, config.storage.s3.bucket, e) : e
    })
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`)
    else {
      process.stdout.write(
        `series: ${report.series}  moved to cold: ${report.moved} rows  warmed to hot: ${report.warmed} rows  hot rows expired: ${report.hotExpired}  ` +
        `objects deleted: ${report.objectsDeleted}  trimmed: ${report.objectsTrimmed}  (lake: ${store.location})\n`)
      if (report.unknown.length > 0) {
        process.stdout.write(`left untouched, layer unknown: ${report.unknown.slice(0, 20).join(", ")}${report.unknown.length > 20 ? " …" : ""}\n`)
      }
    }
  })
})
