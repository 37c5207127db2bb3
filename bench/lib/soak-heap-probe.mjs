// Loaded into the soak's engine child with `--import` (it runs in every thread of the
// process, the archive thread included): each thread appends its V8 heap figures to the
// file named by STRATA_BENCH_SOAK_HEAP every second, one JSON line each (soak-sampler.ts
// HeapLine), with the number of full (mark-sweep) collections it has had so far, so the soak
// can tell which heap holds the RSS it sees and when each has settled. Without that variable
// it does nothing. Plain JavaScript: a worker thread's preloads run before any TypeScript
// loader is registered in it (see src/engine/archive-worker.js).
// Does not change the engine: it only reads process.memoryUsage() and observes GC entries.
import { appendFileSync } from "node:fs"
import { constants, PerformanceObserver } from "node:perf_hooks"
import { isMainThread } from "node:worker_threads"

const file = process.env["STRATA_BENCH_SOAK_HEAP"]
if (file) {
  const thread = isMainThread ? "main" : "worker"
  let majorGcs = 0
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++
  }).observe({ entryTypes: ["gc"] })
  setInterval(() => {
    const m = process.memoryUsage()
    appendFileSync(file, `${JSON.stringify({ thread, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, majorGcs })}\n`)
  }, 1_000).unref()
}
