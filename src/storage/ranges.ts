/**
 * Half-open time ranges [from, to) in ms: normalise (sort + merge), subtract, intersect.
 * Pure; used by the coverage ledger and tiering.
 */
export interface Range { readonly from: number; readonly to: number }

/** Sorted, non-empty, with overlapping and touching ranges merged. */
export const mergeRanges = (ranges: readonly Range[]): Range[] => {
  const sorted = ranges.filter((r) => r.to > r.from).sort((a, b) => a.from - b.from || a.to - b.to)
  const out: { from: number; to: number }[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to)
    else out.push({ from: r.from, to: r.to })
  }
  return out
}

/** `ranges` minus `cut`, normalised. */
export const subtractRange = (ranges: readonly Range[], cut: Range): Range[] =>
  mergeRanges(ranges.flatMap((r) => {
    if (cut.to <= r.from || cut.from >= r.to) return [r]
    const out: Range[] = []
    if (r.from < cut.from) out.push({ from: r.from, to: cut.from })
    if (cut.to < r.to) out.push({ from: cut.to, to: r.to })
    return out
  }))

/** The parts of `ranges` inside `window`, normalised. */
export const intersectRange = (ranges: readonly Range[], window: Range): Range[] =>
  mergeRanges(ranges.map((r) => ({ from: Math.max(r.from, window.from), to: Math.min(r.to, window.to) })))
