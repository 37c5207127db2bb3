#!/usr/bin/env node
/** The one CLI entry: `strata <command>`; each command has --help. */
import { Command } from "commander"
import { engineCommand } from "./engine.ts"
import { reconcileCommand } from "./reconcile.ts"

const program = new Command()
  .name("strata")
  .description("Stream-processing engine: scanner scores → per-symbol lifecycle actors → backfill")
  .showHelpAfterError()

program.command("engine")
  .description("run the engine (ingest + companies projector) until SIGINT/SIGTERM")
  .option("-c, --config <file>", "YAML file merged over config/default.yaml (or STRATA_CONFIG)")
  .action((opts) => engineCommand(opts))

program.command("reconcile")
  .description("compare actor layers with the companies table; exit 1 on divergence")
  .option("-c, --config <file>", "YAML file merged over config/default.yaml (or STRATA_CONFIG)")
  .option("--wait", "wait for the projector to catch up first")
  .option("--timeout <seconds>", "how long --wait waits", "30")
  .option("--json", "print the report as JSON")
  .action((opts) => reconcileCommand(opts))

await program.parseAsync(process.argv)
