/**
 * `strata record`: write the scanner's history (the archive in the lake up to its mark, then
 * the configured scores stream; in a partitioned install each direct stream's likewise,
 * merged by entry ID: replay/history.ts) or one stream (--stream) to an NDJSON file, gzip when it
 * ends in .gz, keeping entry IDs and fields. Reads with XRANGE, so a live engine is not
 * disturbed.
 */
import { ingressKeys } from "../../streams/keys.ts"
import { installHistory } from "../replay/history.ts"
import { recordEntries } from "../replay/record.ts"
import { entriesOf, parseBound, parseSymbols, type ReplaySource } from "../replay/source.ts"
import { withConnections } from "./connect.ts"
import { progressBar } from "./progress.ts"
import { configOrExit, oneShot } from "./shared.ts"

export interface RecordFlags {
  readonly config?: string
  readonly stream?: string
  readonly from?: string
  readonly to?: string
  readonly symbols?: string
  readonly out: string
  readonly json?: boolean
  readonly progress?: boolean
}

export const recordCommand = oneShot("record", async (opts: RecordFlags): Promise<void> => {
  const config = configOrExit(opts.config)
  let from: string, to: string
  let symbols: ReadonlySet<string> | undefined
  try {
    symbols = parseSymbols(opts.symbols)
    from = parseBound("--from", opts.from, "-")
    to = parseBound("--to", opts.to, "+")
  } catch (e) {
    process.stderr.write(`strata record: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(2)
  }
  const stream = opts.stream ?? ingressKeys(config.redis.prefix).scores
  const what = opts.stream === undefined ? `the history of ${stream} (archive + stream${config.partitions > 1 ? ", and the direct streams" : ""})` : stream
  await withConnections(config, async ({ redis, store }) => {
    let source: ReplaySource
    if (opts.stream !== undefined) {
      if ((await redis.exists(stream)) === 0) {
        process.stderr.write(`strata record: stream ${stream} does not exist (check --stream and redis.prefix)\n`)
        process.exitCode = 1
        return
      }
      source = { kind: "stream", redis, key: stream, from, to }
    } else {
      source = { kind: "history", redis, store, ...installHistory(config.redis.prefix, config.partitions), from, to }
    }
    const total = opts.stream !== undefined && from === "-" && to === "+" && !symbols ? await redis.xlen(stream) : 0
    const bar = progressBar(`recording ${what}`, total || undefined, opts.progress !== false && process.stderr.isTTY === true)
    const result = await recordEntries(entriesOf(source, symbols), opts.out, bar.update)
    bar.stop()
    if (opts.json) process.stdout.write(`${JSON.stringify({ stream, history: opts.stream === undefined, out: opts.out, ...result })}\n`)
    else process.stdout.write(`recorded ${result.entries} entries of ${what} (${result.firstId ?? "-"} … ${result.lastId ?? "-"}) to ${opts.out}\n`)
  }, "strata-record")
})
