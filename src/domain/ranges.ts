/**
 * Half-open time ranges [from, to) in UTC milliseconds: merge, subtract, intersect, clip,
 * split at aligned boundaries. Pure; the backfill planner, the coverage ledger and
 * tiering share them.
 */
export interface Range {
  readonly from: number
  readonly to: number
}

/** Sorted, with touching or overlapping ranges joined, empty ones dropped. */
export const mergeRanges = (ranges: readonly Range[]): Range[] => {
  const sorted = ranges.filter((r) => r.to > r.from).sort((a, b) => a.from - b.from)
  const out: Range[] = []
  for (const r of sorted) {
    const last = out.at(-1)
    if (last && r.from <= last.to) out[out.length - 1] = { from: last.from, to: Math.max(last.to, r.to) }
    else out.push({ from: r.from, to: r.to })
  }
  return out
}

/** The parts of `range` that no range of `minus` touches. */
export const subtractRanges = (range: Range, minus: readonly Range[]): Range[] => {
  const out: Range[] = []
  let cursor = range.from
  for (const m of mergeRanges(minus)) {
    if (m.to <= cursor) continue
    if (m.from >= range.to) break
    if (m.from > cursor) out.push({ from: cursor, to: Math.min(m.from, range.to) })
    cursor = Math.max(cursor, m.to)
    if (cursor >= range.to) break
  }
  if (cursor < range.to) out.push({ from: cursor, to: range.to })
  return out
}

export const intersectRange = (a: Range, b: Range): Range | undefined => {
  const from = Math.max(a.from, b.from)
  const to = Math.min(a.to, b.to)
  return to > from ? { from, to } : undefined
}

/** Split `range` at every multiple of `step` (counted from the epoch) and at `cuts`. */
export const splitAligned = (range: Range, step: number, cuts: readonly number[] = []): Range[] => {
  const points = new Set<number>()
  for (let p = Math.ceil((range.from + 1) / step) * step; p < range.to; p += step) points.add(p)
  for (const c of cuts) if (c > range.from && c < range.to) points.add(c)
  const sorted = [...points].sort((a, b) => a - b)
  const out: Range[] = []
  let from = range.from
  for (const p of sorted) {
    out.push({ from, to: p })
    from = p
  }
  out.push({ from, to: range.to })
  return out
}

export const rangeLength = (ranges: readonly Range[]): number => ranges.reduce((n, r) => n + (r.to - r.from), 0)

/** Every range of `ranges` minus `cut`, merged. */
export const removeRange = (ranges: readonly Range[], cut: Range): Range[] =>
  mergeRanges(ranges.flatMap((r) => subtractRanges(r, [cut])))

/** The parts of `ranges` inside `window`, merged. */
export const clipRanges = (ranges: readonly Range[], window: Range): Range[] =>
  mergeRanges(ranges.flatMap((r) => intersectRange(r, window) ?? []))
