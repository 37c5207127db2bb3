#!/usr/bin/env node
// `strata …` (npx strata, the npm scripts, the container): the TypeScript CLI in THIS
// process, with no child process in between. tsx's loader is registered here, then the CLI
// module is imported, so signals sent to this pid (kill, Ctrl-C, docker stop) reach the
// engine's own handlers and its exit code is the process's exit code. tsx is resolved from
// this package, so it works from any working directory.
import { register } from "tsx/esm/api"

register()
await import(new URL("../src/cli/main.ts", import.meta.url).href)
