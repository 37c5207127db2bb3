/**
 * `strata trim [--dry-run]`: one trimming pass over every stream the engines own (every
 * partition's, and the ingress streams of a partitioned install), as the
 * engine runs it on its schedule, then each stream's figures. With --dry-run nothing is
 * removed: it prints each stream's bound and what holds it (a group unread or pending, the
 * retention, the archive mark). Safe beside a running engine: the trim script checks
 * every group and the mark again as it trims. Exit 1 when a stream could not be trimmed.
 */
import { allStreamFigures, trimPass } from "../../streams/trim.ts"
import { installTrimPlans } from "../../streams/trim-plan.ts"
import { withConnections } from "./connect.ts"
import { formatStreamFigures } from "./stream-figures.ts"
import { configOrExit, oneShot } from "./shared.ts"

export const trimCommand = oneShot("trim", async (opts: { config?: string; dryRun?: boolean; json?: boolean }): Promise<void> => {
  const config = configOrExit(opts.config)
  await withConnections(config, async (conn) => {
    const dryRun = opts.dryRun === true
    const results = []
    const figures = []
    for (const plan of installTrimPlans(config)) {
      results.push(...await trimPass(conn.redis, plan, dryRun))
      figures.push(...await allStreamFigures(conn.redis, plan))
    }
    const failed = results.some((r) => "error" in r)
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ dryRun, archive: config.archive.enabled, results, streams: figures })}\n`)
    } else {
      const out = [dryRun ? "trim (dry run: nothing removed)" : "trim"]
      for (const r of results) {
        if ("error" in r) out.push(`  ${r.key}  failed: ${r.error}`)
        else if (!r.bound.trim) out.push(`  ${r.key}  length ${r.lengthBefore}  nothing to trim: ${r.bound.reason}`)
        else if (r.refused !== undefined) out.push(`  ${r.key}  held back at the last moment (${r.refused}); try again`)
        else if (dryRun) out.push(`  ${r.key}  length ${r.lengthBefore}  would remove entries below ${r.bound.minId} (bound by ${r.bound.by})`)
        else out.push(`  ${r.key}  removed ${r.removed} of ${r.lengthBefore} (bound by ${r.bound.by})`)
      }
      out.push(...formatStreamFigures(figures, config.archive.enabled))
      process.stdout.write(`${out.join("\n")}\n`)
    }
    process.exitCode = failed ? 1 : 0
  })
})
