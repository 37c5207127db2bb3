/**
 * `movePartitions` in a process of its own, for the crash test: small pages, so a kill
 * lands between many writes. Environment: REDIS_URL and STRATA_PREFIX (as
 * test/helpers/namespace.ts sets them), MOVE_TO and MOVE_PAGE. Exits 0 once the move is
 * done, 1 when it is refused.
 */
import { loadConfig } from "../../config/load.ts"
import { movePartitions, MoveRefused } from "../../src/engine/partition-move.ts"
import { openRedis } from "../../src/services/redis.ts"

// A test that failed or timed out may leave this process behind: it ends with its parent.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(1)
}, 500).unref()

const config = loadConfig({ env: process.env })
const redis = openRedis(config.redis.url, "partition-move-child")
try {
  await movePartitions(redis, config.redis.prefix, Number(process.env["MOVE_TO"]), { page: Number(process.env["MOVE_PAGE"] ?? "500") })
  process.exitCode = 0
} catch (e) {
  process.stderr.write(`${e instanceof MoveRefused ? "refused" : "failed"}: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
} finally {
  redis.disconnect()
}
