/**
 * `strata replay [FILE|--stream KEY]`: run the engine's code over recorded scores (a file, a
 * stream, or by default the scanner's history: the archive plus Redis), either in
 * memory (--dry-run, the default) or through the real engine in an isolated namespace
 * (--namespace NAME: own key prefix, own PostgreSQL schema), paced by event time
 * (--speed), and print a summary; with --diff B.yaml, replay under both configurations and
 * print the what-if report.
 */
import type { Config } from "../../config/schema.ts"
import { whatIf } from "../replay/diff.ts"
import { dryRunReplay } from "../replay/dry-run.ts"
import { namespaceConfig, namespaceReplay } from "../app/replay-namespace.ts"
import { parseSpeed, showSpeed, type Speed } from "../replay/pacing.ts"
import { summaryText, whatIfText } from "../replay/report.ts"
import { countEntries, entriesOf, parseBound, parseSymbols, replayInputOf, type ReplaySource } from "../replay/source.ts"
import { installHistory } from "../replay/history.ts"
import { summarise, type ReplayRun } from "../replay/summary.ts"
import { withConnections, type Connections } from "./connect.ts"
import { progressBar } from "./progress.ts"
import { configOrExit, oneShot } from "./shared.ts"

export interface ReplayFlags {
  readonly config?: string
  readonly stream?: string
  readonly from?: string
  readonly to?: string
  readonly symbols?: string
  readonly dryRun?: boolean
  readonly namespace?: string
  readonly reset?: boolean
  readonly speed: string
  readonly diff?: string
  readonly json?: boolean
  readonly progress?: boolean
}

const usage = (message: string): never => {
  process.stderr.write(`strata replay: ${message}\n`)
  process.exit(2)
}

export const replayCommand = oneShot("replay", async (file: string | undefined, opts: ReplayFlags): Promise<void> => {
  if (file !== undefined && opts.stream !== undefined) usage("give a recording FILE or --stream KEY, not both")
  if (opts.dryRun && opts.namespace) usage("--dry-run and --namespace exclude each other")
  let speed: Speed = { kind: "max" }
  let from = "-", to = "+"
  let symbols: ReadonlySet<string> | undefined
  try {
    symbols = parseSymbols(opts.symbols)
    speed = parseSpeed(opts.speed)
    from = parseBound("--from", opts.from, "-")
    to = parseBound("--to", opts.to, "+")
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e))
  }
  const configA = configOrExit(opts.config)
  const configB = opts.diff ? configOrExit(opts.diff) : undefined
  const showProgress = opts.progress !== false && !opts.json && process.stderr.isTTY === true

  // A file needs no store; a recorded stream is read through Redis; with neither, the
  // scanner's history: the archive up to its mark, then the scores stream (and, partitioned,
  // each direct stream's archive and stream, merged by entry ID).
  const replay = async (conn: Connections | undefined): Promise<void> => {
    const prefix = configA.redis.prefix
    const source: ReplaySource = conn === undefined
      ? { kind: "file", path: file as string }
      : opts.stream !== undefined
        ? { kind: "stream", redis: conn.redis, key: opts.stream, from, to }
        : { kind: "history", redis: conn.redis, store: conn.store, ...installHistory(prefix, configA.partitions), from, to }
    const total = await countEntries(source)

    const run = async (config: Config, label: string, namespace: string | undefined): Promise<ReplayRun> => {
      const bar = progressBar(`replay ${label}`, total, showProgress)
      try {
        return namespace === undefined
          ? await dryRunReplay(replayInputOf(source, symbols), config, { speed, onProgress: bar.update })
          : await namespaceReplay(entriesOf(source, symbols), namespaceConfig(config, namespace), { speed, onProgress: bar.update, reset: opts.reset ?? false })
      } finally {
        bar.stop()
      }
    }

    const labelA = opts.config ?? "default config"
    const runA = await run(configA, labelA, opts.namespace)
    if (!configB) {
      const summary = summarise(runA, configA)
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({
          mode: opts.namespace ? "namespace" : "dry-run", namespace: opts.namespace ?? null, speed: showSpeed(speed), summary
        })}\n`)
      } else {
        process.stdout.write(`replay (${opts.namespace ? `namespace ${opts.namespace}` : "dry run"}, speed ${showSpeed(speed)})\n${summaryText(summary)}`)
      }
      return
    }
    const runB = await run(configB, opts.diff as string, opts.namespace ? `${opts.namespace}-b` : undefined)
    const report = whatIf(
      { label: labelA, run: runA, config: configA },
      { label: opts.diff as string, run: runB, config: configB }
    )
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : whatIfText(report))
  }
  try {
    await (file !== undefined ? replay(undefined) : withConnections(configA, replay, "strata-replay-source"))
  } catch (e) {
    process.stderr.write(`strata replay: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  }
})
