// The archive thread's entry (see archive-thread.ts): a worker thread does not always
// inherit the TypeScript loader of the thread that starts it (bin/strata.js registers
// tsx's in-process, which a worker does not get), so it registers tsx's itself; under a
// `--import tsx` run the second registration is harmless. Then the thread's module.
import { register } from "tsx/esm/api"

register()
await import("./archive-worker.ts")
