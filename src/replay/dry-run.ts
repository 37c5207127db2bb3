/**
 * Dry-run replay: entries through processBatch (the live engine's pure core) with the actors
 * held in memory, nothing written anywhere. Batches are cut at the configured batch size
 * and wherever pacing makes the replay wait; processBatch gives the same outputs whatever
 * the cut, so the speed never changes the result.
 */
import type { Config } from "../../config/schema.ts"
import type { LifecycleState } from "../../machines/lifecycle.ts"
import type { Layer } from "../domain/layers.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { chunksOf, type ReplayInput } from "./chunks.ts"
import { processBatch } from "../engine/batch.ts"
import { commitClock } from "../engine/stream-clock.ts"
import { replayMachine } from "./engine-context.ts"
import { MAX_SPEED, Pacer, pacingTime, systemClock, type Clock, type Speed } from "./pacing.ts"
import type { ReplayRun } from "./summary.ts"

export interface ReplayOptions {
  readonly speed?: Speed
  readonly clock?: Clock
  /** Entries per processBatch call (default: the config's ingest.batch_size). */
  readonly batchSize?: number
  /** Called after each batch with the number of entries replayed so far. */
  readonly onProgress?: (entries: number) => void
}

export const dryRunReplay = async (
  entries: ReplayInput, config: Config, options: ReplayOptions = {}
): Promise<ReplayRun> => {
  const machine = replayMachine(config)
  const actors = new Map<string, LifecycleState>()
  const initial = machine.lifecycle.initial()
  const ctx = machine.context((symbol) => actors.get(symbol) ?? initial)
  const speed = options.speed ?? MAX_SPEED
  const pacer = new Pacer(speed, options.clock ?? systemClock)
  const batchSize = options.batchSize ?? config.ingest.batch_size
  const lifecycle: string[][] = []
  const backfill: string[][] = []
  const dead: string[][] = []
  let events = 0, applied = 0, late = 0
  let batch: StreamEntry[] = []

  const flush = () => {
    if (batch.length === 0) return
    const out = processBatch(batch, ctx)
    for (const [symbol, snap] of out.snapshots) actors.set(symbol, snap)
    commitClock(ctx.clock, machine.lifecycle, out.streamTime, out.snapshots)
    for (const l of out.lifecycle) lifecycle.push(l)
    for (const b of out.backfill) backfill.push(b)
    for (const d of out.dead) dead.push(d)
    events += out.ids.length
    applied += out.applied
    late += out.late
    batch = []
    options.onProgress?.(events)
  }

  for await (const chunk of chunksOf(entries, batchSize)) {
    for (const entry of chunk) {
      if (speed.kind !== "max") {
        const wait = pacer.delay(pacingTime(entry.id, entry.fields))
        if (wait > 0) {
          flush()
          await pacer.sleep(wait)
        }
      }
      batch.push(entry)
      if (batch.length >= batchSize) flush()
    }
  }
  flush()

  const finalLayers = new Map<string, Layer>()
  for (const [symbol, snap] of actors) finalLayers.set(symbol, snap.layer)
  return { counts: { events, applied, late, dead: dead.length }, lifecycle, backfill, dead, finalLayers }
}
