#!/usr/bin/env node
/** The one CLI entry: `strata <command>`; each command has --help. */
import { Command, Option } from "commander"
import { engineCommand } from "./engine.ts"
import { migrateCompareCommand } from "./migrate.ts"
import { reconcileCommand } from "./reconcile.ts"
import { recordCommand } from "./record.ts"
import { replayCommand } from "./replay.ts"
import { queryCommand } from "./query.ts"
import { tierCommand } from "./tier.ts"
import { backfillCommand } from "./backfill.ts"
import { statusCommand } from "./status.ts"
import { workersCommand } from "./workers.ts"
import { inspectCommand } from "./inspect.ts"
import { SOURCES, deadLettersListCommand, deadLettersPurgeCommand, deadLettersRetryCommand, deadLettersShowCommand } from "./dead-letters.ts"

/** Every subcommand reads the same configuration option. */
const CONFIG_OPTION = ["-c, --config <file>", "YAML file merged over config/default.yaml (or STRATA_CONFIG)"] as const

const program = new Command()
  .name("strata")
  .description("Stream-processing engine: scanner scores → per-symbol lifecycle actors → backfill")
  .showHelpAfterError()

program.command("engine")
  .description("run the engine (ingest, companies projector, backfill workers, tiering, HTTP) until SIGINT/SIGTERM")
  .option(...CONFIG_OPTION)
  .action((opts) => engineCommand(opts))

program.command("reconcile")
  .description("compare actor layers with the companies table; exit 1 on divergence")
  .option(...CONFIG_OPTION)
  .option("--wait", "wait for the projector to catch up first")
  .option("--timeout <seconds>", "how long --wait waits", "30")
  .option("--json", "print the report as JSON")
  .action((opts) => reconcileCommand(opts))

program.command("record")
  .description("write a scanner stream to an NDJSON file (gzip when it ends in .gz), keeping entry IDs and fields")
  .option(...CONFIG_OPTION)
  .option("--stream <key>", "stream to record (default: <prefix>:scores)")
  .option("--from <id|time>", "first entry: an entry ID, milliseconds or ISO-8601 time (inclusive)")
  .option("--to <id|time>", "last entry: an entry ID, milliseconds or ISO-8601 time (inclusive)")
  .requiredOption("-o, --out <file>", "file to write (.ndjson or .ndjson.gz)")
  .option("--json", "print the result as JSON")
  .option("--no-progress", "no progress bar")
  .action((opts) => recordCommand(opts))

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
  .action((file, opts) => replayCommand(file, opts))

program.command("query")
  .description("read stored data over both tiers (PostgreSQL + Parquet): bars, news, actions or sentiment")
  .argument("<what>", "bars | news | actions | sentiment")
  .option(...CONFIG_OPTION)
  .requiredOption("-s, --symbol <symbol>", "the symbol, e.g. AAPL")
  .option("-i, --interval <interval>", "bar interval (bars only): 1day, 1hour, 5min, 1min")
  .option("--from <time>", "start, inclusive (ms or ISO-8601; default 30 days before --to)")
  .option("--to <time>", "end, exclusive (ms or ISO-8601; default now)")
  .option("-f, --format <format>", "table, csv or json", "table")
  .action((what, opts) => queryCommand(what, opts))

program.command("tier")
  .description("move hot rows past their hot days to Parquet, expire data past retention, apply demotions")
  .option(...CONFIG_OPTION)
  .option("--now", "run one pass now and print what it did")
  .option("--symbols <list>", "only these symbols, comma-separated (default: every symbol held)")
  .option("--at <time>", "apply the policy as of this time (ms or ISO-8601) instead of the clock")
  .option("--json", "print the report as JSON")
  .action((opts) => tierCommand(opts))

program.command("workers")
  .description("run the backfill worker fibers alone (no ingest) until SIGINT/SIGTERM")
  .option(...CONFIG_OPTION)
  .option("--workers <n>", "worker fibers in this process (default: backfill.workers)")
  .action((opts) => workersCommand(opts))

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
  .action((opts) => backfillCommand(opts))

program.command("status")
  .description("queues, backfill progress per command and dead letters")
  .option(...CONFIG_OPTION)
  .option("--limit <n>", "commands listed", "20")
  .option("--json", "print as JSON")
  .action((opts) => statusCommand(opts))

program.command("inspect")
  .description("one symbol: actor and snapshot, companies row, recent transitions, backfill commands, coverage and rows per tier")
  .argument("<symbol>", "the symbol, e.g. AAPL")
  .option(...CONFIG_OPTION)
  .option("--limit <n>", "transitions and commands listed", "10")
  .option("--json", "print as JSON")
  .action((symbol, opts) => inspectCommand(symbol, opts))

const deadLetters = program.command("dead-letters")
  .description("scores, lifecycle and backfill dead letters: list, show, re-drive after a fix, purge")
const SOURCE_OPTION = () => new Option("--source <source>", "only this dead-letter stream").choices(SOURCES)

deadLetters.command("list")
  .description("the latest dead letters of each stream, newest first")
  .option(...CONFIG_OPTION)
  .addOption(SOURCE_OPTION())
  .option("--limit <n>", "entries listed per stream", "20")
  .option("--json", "print as JSON")
  .action((opts) => deadLettersListCommand(opts))

deadLetters.command("show")
  .description("one dead letter: reason, source entry, engine fields and the original fields")
  .argument("<id>", "the dead letter's entry ID")
  .option(...CONFIG_OPTION)
  .addOption(SOURCE_OPTION())
  .option("--json", "print as JSON")
  .action((id, opts) => deadLettersShowCommand(id, opts))

deadLetters.command("retry")
  .description("re-drive dead letters to the stream they came from, exactly once (truncated copies are refused)")
  .argument("<ids...>", "dead-letter entry IDs")
  .option(...CONFIG_OPTION)
  .addOption(SOURCE_OPTION())
  .option("--json", "print as JSON")
  .action((ids, opts) => deadLettersRetryCommand(ids, opts))

deadLetters.command("purge")
  .description("delete dead letters (the given IDs, else every entry); asks first, or needs --yes")
  .argument("[ids...]", "dead-letter entry IDs (default: all)")
  .option(...CONFIG_OPTION)
  .addOption(SOURCE_OPTION())
  .option("-y, --yes", "do not ask")
  .option("--json", "print as JSON")
  .action((ids, opts) => deadLettersPurgeCommand(ids, opts))

program.command("migrate")
  .description("migration checks against the legacy pipeline's tables")
  .command("compare")
  .description("compare legacy scanner_qualifications with companies; exit 1 when they differ")
  .option(...CONFIG_OPTION)
  .option("--table <name>", "the legacy table", "scanner_qualifications")
  .option("--limit <n>", "differing symbols to list", "50")
  .option("--json", "print the report as JSON")
  .action((opts) => migrateCompareCommand(opts))

await program.parseAsync(process.argv)
