/**
 * `strata record`: write a scanner stream (default: the configured scores stream) to an
 * NDJSON file, gzip when it ends in .gz, keeping entry IDs and fields. Reads with XRANGE,
 * so a live engine is not disturbed.
 */
import { ingressKeys } from "../../streams/keys.ts"
import { recordStream } from "../replay/record.ts"
import { parseBound } from "../replay/source.ts"
import { withRedis } from "./connect.ts"
import { progressBar } from "./progress.ts"
import { configOrExit, oneShot } from "./shared.ts"

export interface RecordFlags {
  readonly config?: string
  readonly stream?: string
  readonly from?: string
  readonly to?: string
  readonly out: string
  readonly json?: boolean
  readonly progress?: boolean
}

export const recordCommand = oneShot("record", async (opts: RecordFlags): Promise<void> => {
  const config = configOrExit(opts.config)
  let from: string, to: string
  try {
    from = parseBound("--from", opts.from, "-")
    to = parseBound("--to", opts.to, "+")
  } catch (e) {
    process.stderr.write(`strata record: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(2)
  }
  const stream = opts.stream ?? ingressKeys(config.redis.prefix).scores
  await withRedis(config, "strata-record", async (redis) => {
    if ((await redis.exists(stream)) === 0) {
      process.stderr.write(`strata record: stream ${stream} does not exist (check --stream and redis.prefix)\n`)
      process.exitCode = 1
      return
    }
    const bar = progressBar(`recording ${stream}`, (await redis.xlen(stream)) || undefined, opts.progress !== false && process.stderr.isTTY === true)
    const result = await recordStream(redis, { stream, out: opts.out, from, to, onProgress: bar.update })
    bar.stop()
    if (opts.json) process.stdout.write(`${JSON.stringify({ stream, out: opts.out, ...result })}\n`)
    else process.stdout.write(`recorded ${result.entries} entries of ${stream} (${result.firstId ?? "-"} … ${result.lastId ?? "-"}) to ${opts.out}\n`)
  })
})
