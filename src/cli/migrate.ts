/** `strata migrate compare`: legacy scanner_qualifications vs companies; exit 1 when they differ. */
import { compareLegacy } from "../engine/legacy-compare.ts"
import { withConnections } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"

export const migrateCompareCommand = oneShot("migrate compare", async (opts: { config?: string; table: string; json?: boolean; limit: string }): Promise<void> => {
  const config = configOrExit(opts.config)
  await withConnections(config, async (conn) => {
    try {
      const report = await compareLegacy(conn.sql, opts.table)
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`)
      } else {
        process.stdout.write(`layer  ${opts.table.padStart(22)}  ${"companies".padStart(10)}\n`)
        for (const c of report.counts) process.stdout.write(`L${c.layer}     ${String(c.legacy).padStart(22)}  ${String(c.companies).padStart(10)}\n`)
        process.stdout.write(`symbols whose layer differs: ${report.differences.length}\n`)
        const show = (l: number | null) => (l === null ? "absent" : `L${l}`)
        for (const d of report.differences.slice(0, Number(opts.limit))) {
          process.stdout.write(`  ${d.symbol}: ${opts.table} ${show(d.legacyLayer)}, companies ${show(d.companiesLayer)}\n`)
        }
      }
      process.exitCode = report.differences.length === 0 ? 0 : 1
    } catch (e) {
      process.stderr.write(`strata migrate compare: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exitCode = 2
    }
  })
})
