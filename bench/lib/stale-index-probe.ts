/**
 * Staleness index probe, run as a child process with --expose-gc so that nothing else
 * shares its heap: N persisted actors above L0 (their JSON, as the snapshots hash holds
 * it) are indexed by staleness deadline, then batches run against the index as ingest
 * uses it: the due ones up to the batch's bound, plus 1,000 changed deadlines per batch.
 *   stale-index-probe.ts <N> <batches>
 * Prints one JSON line: { heapBytes, rebuildMs, batchUs, scanUs, due } — heap held by the
 * index, CPU time to rebuild it from the JSON, mean CPU time per batch with the index, and
 * of the alternative it avoids (a scan of every actor's deadline per batch).
 */
import { loadConfig } from "../../config/load.ts"
import { rulesFromConfig } from "../../src/engine/lifecycle-rules.ts"
import { createLifecycle, type PersistedActor } from "../../machines/lifecycle.ts"
import { StaleIndex } from "../../src/engine/stale-index.ts"
import { benchSymbol, prng } from "../../fixtures/workload.ts"
import { settle } from "./gc-settle.ts"


const [nText, batchesText] = process.argv.slice(2)
const n = Number(nText)
const batches = Number(batchesText ?? 200)
const BATCH = 1_000
const lifecycle = createLifecycle(rulesFromConfig(loadConfig({ env: {}, overrides: { lifecycle: { stale_after: "30m" } } }).lifecycle))
const STALE_MS = 30 * 60_000
const T0 = Date.UTC(2026, 0, 5, 14, 30)
/** CPU time (user + system) in ms: on a shared machine wall time mostly measures the others. */
const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
// The stream carries one entry per ms, each for a random symbol: every symbol was last
// scored somewhere in the last n ms.
const rand = prng(17)
const symbols = Array.from({ length: n }, (_, i) => benchSymbol(i))
const json = symbols.map(() => {
  const at = T0 - Math.floor(rand() * n)
  const actor: PersistedActor = {
    layer: 1,
    context: { scores: { liquidity: 0.7, catalyst: 0.3, activity: 0.2 }, streak: [], enteredAt: at - 3_600_000, lastAt: at, lastCause: `${at}-0`, late: 0 }
  }
  return JSON.stringify(actor)
})

// Rebuild, as ingest does after a start: parse each snapshot, index its deadline.
let started = cpuMs()
const rebuilt = new StaleIndex()
for (let i = 0; i < n; i++) rebuilt.set(symbols[i] as string, lifecycle.staleDeadline(JSON.parse(json[i] as string) as PersistedActor))
const rebuildMs = cpuMs() - started
const deadlines = Float64Array.from(symbols, (s) => rebuilt.get(s) ?? Infinity)
rebuilt.clear()

// Heap held by the index alone (the symbols' strings exist anyway: the actor cache and the
// snapshots' keys hold them).
await settle()
const heapBefore = process.memoryUsage().heapUsed
const index = new StaleIndex()
for (let i = 0; i < n; i++) index.set(symbols[i] as string, deadlines[i])
await settle()
const heapBytes = process.memoryUsage().heapUsed - heapBefore

// Batches: 1,000 entries each (1 ms of stream time apiece) for random symbols, whose
// deadlines move to 30 min past the stream time; then the due ones are demoted (removed).
let streamTime = T0
let due = 0
started = cpuMs()
for (let b = 0; b < batches; b++) {
  const bound = streamTime + BATCH
  const ready = index.dueUpTo(bound)
  due += ready.length
  for (let k = 0; k < BATCH; k++) index.set(symbols[Math.floor(rand() * n)] as string, ++streamTime + STALE_MS + 1)
  for (const [symbol] of ready) index.set(symbol, undefined)
}
const batchUs = ((cpuMs() - started) / batches) * 1000

// The alternative: look at every actor's deadline once per batch.
started = cpuMs()
let seen = 0
const scans = Math.min(batches, 20)
for (let b = 0; b < scans; b++) {
  for (let i = 0; i < n; i++) if ((deadlines[i] as number) <= streamTime) seen++
}
const scanUs = ((cpuMs() - started) / scans) * 1000
process.stdout.write(`${JSON.stringify({ heapBytes, rebuildMs, batchUs, scanUs, due, seen })}\n`)
