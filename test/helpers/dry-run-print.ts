/**
 * Child-process entry for tests: dry-run replay of a recording under the default config,
 * printing everything it produced (lifecycle entries, backfill commands, dead letters) as
 * one JSON line, so runs under different environments can be compared byte for byte.
 * Usage: tsx test/helpers/dry-run-print.ts <recording>
 */
import { loadConfig } from "../../config/load.ts"
import { dryRunReplay } from "../../src/replay/dry-run.ts"
import { readRecording } from "../../src/replay/file.ts"

const path = process.argv[2]
if (!path) throw new Error("usage: dry-run-print.ts <recording>")
const run = await dryRunReplay(readRecording(path), loadConfig({ env: {} }))
process.stdout.write(`${JSON.stringify({ lifecycle: run.lifecycle, backfill: run.backfill, dead: run.dead })}\n`)
