#!/usr/bin/env node
/**
 * The one CLI entry: `strata <command>`; each command has --help. This module declares the
 * commands and their options only: a command's module (and with it Effect, ioredis,
 * postgres.js, …) is imported when that command runs, so `strata --help` and a mistyped
 * option answer without loading the engine. A new command is one more declaration below
 * whose action imports its module.
 */
import { Command } from "commander"

/** Every subcommand reads the same configuration option. */
const CONFIG_OPTION = ["-c, --config <file>", "YAML file merged over config/default.yaml (or STRATA_CONFIG)"] as const

const program = new Command()
  .name("strata")
  .description("Stream-processing engine: scanner scores → per-symbol lifecycle actors → backfill")
  .showHelpAfterError()

program.command("engine")
  .description("run the engine (ingest, companies projector, backfill workers, tiering, HTTP) until SIGINT/SIGTERM/SIGHUP")
  .option(...CONFIG_OPTION)
  .action(async (opts) => (await import("./engine.ts")).engineCommand(opts))

program.command("reconcile")
  .description("compare actor layers with the companies table; exit 1 on divergence")
  .option(...CONFIG_OPTION)
  .option("--wait", "wait for the projector to catch up first")
  .option("--timeout <seconds>", "how long --wait waits", "30")
  .option("--json", "print the report as JSON")
  .action(async (opts) => (await import("./reconcile.ts")).reconcileCommand(opts))

program.command("record")
  .description("write a scanner stream to an NDJSON file (gzip when it ends in .gz), keeping entry IDs and fields")
  .option(...CONFIG_OPTION)
  .option("--stream <key>", "stream to record (default: <prefix>:scores)")
  .option("--from <id|time>", "first entry: an entry ID, milliseconds or ISO-8601 time (inclusive)")
  .option("--to <id|time>", "last entry: an entry ID, milliseconds or ISO-8601 time (inclusive)")
  .requiredOption("-o, --out <file>", "file to write (.ndjson or .ndjson.gz)")
  .option("--json", "print the result as JSON")
  .option("--no-progress", "no progress bar")
  .action(async (opts) => (await import("./record.ts")).recordCommand(opts))

program.command("replay")
  .description("replay recorded scores through the engine's code: in memory (--dry-run) or in an isolated namespace")
  .argument("[file]", "a recording written by `strata record`")
  .option(...CONFIG_OPTION)
  .option("--stream <key>", "replay a stream instead of a file (read with XRANGE, never consumed)")
  .option("--from <id|time>", "with --stream: first entry (entry ID, milliseconds or ISO-8601)")
  .option("--to <id|time>", "with --stream: last entry (entry ID, milliseconds or ISO-8601)")
  .option("--dry-run", "run in memory, write nothing (the default)")
  .option("--namespace <name>", "run the real engine under key prefix <name> and PostgreSQL schema <name>")
  .option("--reset", "with --namespace: clear the namespace first if it holds data")
  .option("--speed <speed>", "event-time pacing: 1x, 10x, any N x, or max", "max")
  .option("--diff <file>", "what-if: replay again under this config and report the differences")
  .option("--json", "print the summary (or the what-if report) as JSON")
  .option("--no-progress", "no progress bar")
  .action(async (file, opts) => (await import("./replay.ts")).replayCommand(file, opts))

program.command("query")
  .description("read stored data over both tiers (PostgreSQL + Parquet): bars, news, actions or sentiment")
  .argument("<what>", "bars | news | actions | sentiment")
  .option(...CONFIG_OPTION)
  .requiredOption("-s, --symbol <symbol>", "the symbol, e.g. AAPL")
  .option("-i, --interval <interval>", "bar interval (bars only): 1day, 1hour, 5min, 1min")
  .option("--from <time>", "start, inclusive (ms or ISO-8601; default 30 days before --to)")
  .option("--to <time>", "end, exclusive (ms or ISO-8601; default now)")
  .option("-f, --format <format>", "table, csv or json", "table")
  .action(async (what, opts) => (await import("./query.ts")).queryCommand(what, opts))

program.command("tier")
  .description("move hot rows past their hot days to Parquet, expire data past retention, apply demotions")
  .option(...CONFIG_OPTION)
  .option("--now", "run one pass now and print what it did")
  .option("--symbols <list>", "only these symbols, comma-separated (default: every symbol held)")
  .option("--at <time>", "apply the policy as of this time (ms or ISO-8601) instead of the clock")
  .option("--json", "print the report as JSON")
  .action(async (opts) => (await import("./tier.ts")).tierCommand(opts))

program.command("workers")
  .description("run the backfill worker fibers alone (no ingest) until SIGINT/SIGTERM/SIGHUP")
  .option(...CONFIG_OPTION)
  .option("--workers <n>", "worker fibers in this process (default: backfill.workers)")
  .action(async (opts) => (await import("./workers.ts")).workersCommand(opts))

program.command("backfill")
  .description("issue backfill commands by hand and show their progress until the workers finish")
  .requiredOption("--symbols <list>", "layer1 | layer2 | layer3 (symbols the companies table marks qualified) or a list: AAPL,MSFT")
  .option(...CONFIG_OPTION)
  .option("--data-types <list>", "comma-separated data types (default: every one the layer's policy owes)")
  .option("--layer <n>", "layer whose policy is applied, 1-3 (default: the layerN set's N, else the symbol's current layer, at least 1)")
  .option("--at <time>", "the window ends at this day (ms or ISO-8601; default: today)")
  .option("--no-wait", "issue the commands and return")
  .option("--timeout <seconds>", "give up waiting after this long (0: wait until done)", "0")
  .option("--json", "print the result as JSON")
  .option("--no-progress", "no progress bar")
  .action(async (opts) => (await import("./backfill.ts")).backfillCommand(opts))

program.command("status")
  .description("queues, backfill progress per command and dead letters")
  .option(...CONFIG_OPTION)
  .option("--limit <n>", "commands listed", "20")
  .option("--json", "print as JSON")
  .action(async (opts) => (await import("./status.ts")).statusCommand(opts))

program.command("migrate")
  .description("migration checks against the legacy pipeline's tables")
  .command("compare")
  .description("compare legacy scanner_qualifications with companies; exit 1 when they differ")
  .option(...CONFIG_OPTION)
  .option("--table <name>", "the legacy table", "scanner_qualifications")
  .option("--limit <n>", "differing symbols to list", "50")
  .option("--json", "print the report as JSON")
  .action(async (opts) => (await import("./migrate.ts")).migrateCompareCommand(opts))

await program.parseAsync(process.argv)
