#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx strata …` works without a build step,
// from any working directory (tsx is resolved from this package, not from the cwd).
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url))
const tsx = import.meta.resolve("tsx")
const r = spawnSync(process.execPath, ["--import", tsx, main, ...process.argv.slice(2)], { stdio: "inherit" })
process.exit(r.status ?? 1)
