// The archive thread's entry (see archive-thread.ts). First it lowers its own CPU priority
// (archive.nice): the archive is background work with minutes of slack, the engine's ingest
// is not, and on a busy machine the thread's loading, decoding and Parquet encoding would
// otherwise take CPU time from the engine's thread and from Redis. On Linux a nice value
// belongs to a thread (setpriority on its thread ID), and threads started afterwards by this
// one inherit it: the TypeScript loader's thread, which the registration below starts, too.
// Then it registers tsx's loader: a worker thread does not always inherit the one of the
// thread that starts it (bin/strata.js registers tsx's in-process, which a worker does not
// get), and archive-thread.ts starts it without a `--import tsx` of its own for that reason.
// Then the thread's module.
import { readlinkSync } from "node:fs"
import { getPriority, setPriority } from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

/** Renice this thread to at least `nice`; what happened, for the engine's log. */
const lowerPriority = (nice) => {
  let tid
  try {
    // "<pid>/task/<tid>": the calling thread's own ID (Linux only).
    tid = Number(readlinkSync("/proc/thread-self").split("/").at(-1))
    const before = getPriority(tid)
    // Never raise it: a process started with a higher nice keeps it (raising needs privilege).
    if (before < nice) setPriority(tid, nice)
    return { type: "priority", nice: getPriority(tid), tid }
  } catch (e) {
    return { type: "priority", nice: undefined, tid, error: e instanceof Error ? e.message : String(e) }
  }
}

parentPort?.postMessage(lowerPriority(workerData.config.archive.nice))
register()
await import("./archive-worker.ts")
