/**
 * `strata query bars|news|actions|sentiment --symbol S [--interval I] [--from T] [--to T]
 * [--format table|csv|json] [--adjust none|splits|all]`: one read over both storage tiers
 * (the read router), printed as an aligned table, CSV (RFC 4180) or JSON. Table and CSV
 * show times as ISO-8601 UTC; JSON keeps ms since the epoch, like the HTTP API. Bars can
 * be adjusted on read by the stored splits (and dividends), storage/adjusted-read.ts.
 */
import type { Bar, StorageKind } from "../domain/rows.ts"
import { migrate } from "../services/postgres.ts"
import { STORAGE_DDL } from "../storage/index.ts"
import { probeStore } from "../storage/object-store.ts"
import { PARQUET_COLUMNS } from "../storage/parquet.ts"
import { seriesAdjustment } from "../storage/adjusted-read.ts"
import { parseAdjust, parseSeriesQuery } from "../storage/query-params.ts"
import { readSeries } from "../storage/read-router.ts"
import { withConnections } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"
import { isS3NetworkError, s3Failure } from "../services/dependency-errors.ts"

const WHAT: Record<string, StorageKind> = {
  bars: "bars", news: "news", actions: "corporate_actions", sentiment: "social_sentiment"
}
const FORMATS = ["table", "csv", "json"] as const
type Format = (typeof FORMATS)[number]

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

/** Rows as text in `format`; time columns as ISO-8601 outside JSON. */
export const formatRows = (kind: StorageKind, rows: readonly object[], format: Format): string => {
  if (format === "json") return `${JSON.stringify(rows)}\n`
  const columns = PARQUET_COLUMNS[kind]
  const cell = (r: object, i: number) => {
    const c = columns[i]!
    const v = (r as Record<string, unknown>)[c.name]
    return c.type === "TIMESTAMP" ? new Date(v as number).toISOString() : String(v)
  }
  const header = columns.map((c) => c.name)
  const body = rows.map((r) => columns.map((_, i) => cell(r, i)))
  if (format === "csv") return [header, ...body].map((line) => line.map(csvCell).join(",")).join("\n") + "\n"
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)))
  const fmt = (line: string[]) => line.map((v, i) => (columns[i]!.type === "DOUBLE" || columns[i]!.type === "INT64" ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join("  ").trimEnd()
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(fmt), `(${rows.length} rows)`].join("\n") + "\n"
}

export const queryCommand = oneShot("query", async (
  what: string,
  opts: { config?: string; symbol?: string; interval?: string; from?: string; to?: string; format: string; adjust?: string }
): Promise<void> => {
  const kind = WHAT[what]
  const fail = (message: string) => {
    process.stderr.write(`${message}\n`)
    process.exitCode = 2
  }
  if (!kind) return fail(`query: expected one of ${Object.keys(WHAT).join(", ")}, got "${what}"`)
  if (!(FORMATS as readonly string[]).includes(opts.format)) return fail(`--format: expected one of ${FORMATS.join(", ")}, got "${opts.format}"`)
  const parsed = parseSeriesQuery(opts, kind === "bars", Date.now())
  const adjust = parseAdjust(opts.adjust, kind === "bars")
  const errors = [...(parsed.ok ? [] : parsed.errors), ...(adjust.ok ? [] : [adjust.error])]
  if (!parsed.ok || !adjust.ok) return fail(errors.map((e) => `--${e}`).join("\n"))
  const config = configOrExit(opts.config)
  await withConnections(config, async (conn) => {
    const store = conn.store
    await migrate(conn.sql, config.postgres.schema, STORAGE_DDL)
    const q = parsed.query
    const deps = { sql: conn.sql, store }
    const read = async () => {
      const rows: object[] = await readSeries(deps, kind, q.symbol, q.interval, q.from, q.to)
      if (kind !== "bars" || adjust.adjust === "none") return rows
      const adjustment = await seriesAdjustment(deps, q.symbol, q.interval, adjust.adjust)
      for (const s of adjustment.skipped) {
        process.stderr.write(`query: ${s.action.kind} of ${new Date(s.action.ex_date).toISOString().slice(0, 10)} not applied: ${s.reason}\n`)
      }
      return (rows as Bar[]).map(adjustment.adjust)
    }
    const rows = await probeStore(store).then(read).catch((e: unknown) => {
      throw isS3NetworkError(e) ? s3Failure(config.storage.s3.endpoint, config.storage.s3.bucket, e) : e
    })
    process.stdout.write(formatRows(kind, rows, opts.format as Format))
  })
})
