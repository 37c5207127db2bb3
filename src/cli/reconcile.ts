/**
 * `strata reconcile`: compare actor layers with the companies projection; exit 1 on any
 * divergence. With --wait it first waits (up to --timeout) for the projector to catch up.
 * A partitioned install is reconciled over every partition at once.
 */
import { withConnections } from "./connect.ts"
import { reconcile } from "../engine/reconcile.ts"
import { installPartitionKeys, partitionKeys } from "../../streams/keys.ts"
import { configOrExit, oneShot } from "./shared.ts"
import { PollTimeout, pollUntil } from "../services/poll.ts"

export const reconcileCommand = oneShot("reconcile", async (opts: { config?: string; wait?: boolean; timeout: string; json?: boolean }): Promise<void> => {
  const config = configOrExit(opts.config)
  await withConnections(config, async (conn) => {
    // One partition: its keys as they always were; more: every partition's.
    const keys = config.partitions === 1 ? partitionKeys(config.redis.prefix, 0) : installPartitionKeys(config.redis.prefix, config.partitions)
    let report = await reconcile(conn.redis, conn.sql, keys)
    if (opts.wait) {
      // Wait for the projector to catch up; on timeout, report what is divergent then.
      await pollUntil("the projector to catch up", async () => {
        report = await reconcile(conn.redis, conn.sql, keys)
        return report.projectorBehind === 0 && report.divergent.length === 0
      }, Number(opts.timeout) * 1000, 200).catch((e: unknown) => {
        if (!(e instanceof PollTimeout)) throw e
      })
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`)
    } else {
      process.stdout.write(`actors: ${report.actors}  companies rows: ${report.companies}  projector behind: ${report.projectorBehind}  divergent: ${report.divergent.length}\n`)
      if (report.partitions) {
        process.stdout.write(`  ${report.partitions.length} partitions: ${report.partitions.map((p) => `${p.partition}: ${p.actors} actors${p.projectorBehind > 0 ? `, ${p.projectorBehind} behind` : ""}`).join("; ")}\n`)
      }
      for (const d of report.divergent.slice(0, 50)) {
        process.stdout.write(`  ${d.symbol}: actor layer ${d.actorLayer}, companies layer ${d.companiesLayer}\n`)
      }
      if (report.divergent.length > 50) process.stdout.write(`  … and ${report.divergent.length - 50} more\n`)
    }
    process.exitCode = report.divergent.length === 0 ? 0 : 1
  })
})
