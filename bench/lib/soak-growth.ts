/**
 * How the soak judges its samples, as pure functions: where the warm-up ends (measured:
 * the first sample from which every actor exists, the set of keys is the final one and
 * each V8 heap of the engine has been through a full collection), and how much a level
 * grew after it, by two samples, by the least-squares line through every sample, and by the
 * line through each window's lowest sample (the floor one heap returns to after its
 * collections). Reads nothing and runs nothing: soak.ts samples.
 */

export interface SoakSample {
  readonly tS: number
  readonly usedMemory: number
  readonly rss: number
  readonly scoresLength: number
  readonly lag: number
  /** Events the producer had sent at the sample. */
  readonly sent: number
  /** Rows in archive parts at or below the mark (verified). */
  readonly archived: number
  /** Keys under the namespace's prefix. */
  readonly keys?: number
  /** Actor snapshots in Redis (fields of the snapshots hash). */
  readonly snapshots?: number
  /** MEMORY USAGE of every key under the prefix but the scores stream. */
  readonly notScores?: number
  /** V8 heap used by the engine's main thread and by its archive thread, when probed. */
  readonly heapMain?: number
  readonly heapArchive?: number
  /** Full (mark-sweep) collections of each heap so far (unprobed: none known, so not settled). */
  readonly gcMain?: number
  readonly gcArchive?: number
}

export interface Growth {
  readonly start: number
  readonly end: number
  readonly growth: number
}

/** Growth of the last sample over the first one after `warmS`. */
export const growthAfter = (samples: readonly SoakSample[], warmS: number, pick: (s: SoakSample) => number) => {
  const base = samples.find((s) => s.tS >= warmS) ?? samples[0]!
  const last = samples.at(-1)!
  return { base: pick(base), last: pick(last), growth: pick(base) > 0 ? (pick(last) - pick(base)) / pick(base) : 0 }
}

const fitLine = (points: readonly (readonly [number, number])[]): Growth => {
  if (points.length < 2) return { start: points[0]?.[1] ?? 0, end: points[0]?.[1] ?? 0, growth: 0 }
  const n = points.length
  const mt = points.reduce((a, [t]) => a + t, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const sxy = points.reduce((a, [t, y]) => a + (t - mt) * (y - my), 0)
  const sxx = points.reduce((a, [t]) => a + (t - mt) ** 2, 0)
  const slope = sxx > 0 ? sxy / sxx : 0
  const at = (t: number) => my + slope * (t - mt)
  const start = at(points[0]![0])
  const end = at(points.at(-1)![0])
  return { start, end, growth: start > 0 ? (end - start) / start : 0 }
}

/**
 * Growth over the window after `warmS` by the least-squares line through its samples: the
 * line's rise from the first sample's time to the last one's, over its value at the first.
 * Memory moves in steps (the heap grows and is collected in tens of MB; Redis frees a
 * trimmed stream's nodes in batches), so two samples say mostly where in a step each fell;
 * the line through every sample says whether the level climbs, as long as the window holds
 * many steps: a few long ones tilt it by where the window cuts them.
 */
export const fittedGrowthAfter = (samples: readonly SoakSample[], warmS: number, pick: (s: SoakSample) => number): Growth =>
  fitLine(samples.filter((s) => s.tS >= warmS).map((s) => [s.tS, pick(s)] as const))

/**
 * Growth of the floor after `warmS`: the stretch is cut into windows of `windowS` seconds
 * (the last one joins the one before if it is shorter), the lowest sample of each is taken,
 * and the line through those floors is judged as above. A heap that fills for a minute or
 * two and is then collected swings by half its size; what a leak raises is the level it
 * returns to. `windowS` must exceed the swing. Of one heap only: the sum of two heaps that
 * swing at their own pace seldom has both at their floor in one window (the line through
 * every sample judges such a sum better).
 */
export const floorGrowthAfter = (samples: readonly SoakSample[], warmS: number, windowS: number, pick: (s: SoakSample) => number): Growth => {
  const after = samples.filter((s) => s.tS >= warmS)
  if (after.length === 0) return { start: 0, end: 0, growth: 0 }
  const t0 = after[0]!.tS
  const count = Math.max(1, Math.floor((after.at(-1)!.tS - t0) / windowS))
  const floors: (readonly [number, number])[] = []
  for (let w = 0; w < count; w++) {
    const inside = after.filter((s) => {
      const i = Math.min(count - 1, Math.floor((s.tS - t0) / windowS))
      return i === w
    })
    const low = inside.reduce((a, s) => (pick(s) < pick(a) ? s : a))
    floors.push([low.tS, pick(low)])
  }
  return fitLine(floors)
}

/**
 * The measured end of the warm-up: the first sample at or after `minS` from which, up to
 * the last sample, the snapshots hash holds every symbol, the number of keys is the last
 * sample's (every key the run ever makes exists), and each probed heap has had a full
 * collection since the first sample (before it, V8 is still raising the heap's limit: the RSS climbs for a minute
 * or two, a step that would never recur). Undefined when the run never got there: its
 * growth figures would judge the warm-up itself.
 */
export const warmUpEnd = (samples: readonly SoakSample[], minS: number, symbols: number): number | undefined => {
  const first = samples[0]
  const last = samples.at(-1)
  if (!first || !last) return undefined
  let end: number | undefined
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!
    // Counted from the first sample: a process's start-up has full collections of its own.
    const collected = (s.gcMain ?? 0) > (first.gcMain ?? 0) && (s.gcArchive ?? 0) > (first.gcArchive ?? 0)
    if (s.snapshots !== symbols || s.keys !== last.keys || !collected) break
    end = s.tS
  }
  return end === undefined ? undefined : Math.max(end, minS) <= last.tS ? Math.max(end, minS) : undefined
}
