/**
 * Per-stream figures as the CLI prints them (`strata status`, `strata trim`): length,
 * oldest entry's age (Redis TIME minus its entry ID time) and the entry time the stream
 * spans, archive lag, last trim, entries removed and dead letters dropped.
 */
import type { StreamFigures } from "../../streams/trim.ts"

/** 90061000 → "1d 1h", 61000 → "1m 1s", 900 → "900ms". */
export const shortDuration = (ms: number): string => {
  if (ms < 1000) return `${ms}ms`
  const units: [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]]
  const parts: string[] = []
  let rest = ms
  for (const [u, size] of units) {
    const n = Math.floor(rest / size)
    if (n > 0 || parts.length > 0) parts.push(`${n}${u}`)
    rest -= n * size
    if (parts.length === 2) break
  }
  return parts.filter((p) => !p.startsWith("0")).join(" ") || "0s"
}

export const formatStreamFigures = (figures: readonly StreamFigures[], archiveEnabled: boolean): string[] => {
  const out = [`streams (oldest entry age: Redis TIME minus the entry ID's time${archiveEnabled ? "" : "; archive disabled"})`]
  for (const f of figures) {
    const parts = [`length ${f.length}`]
    parts.push(f.oldestAgeMs === null ? "empty" : `oldest ${shortDuration(f.oldestAgeMs)} old, spans ${shortDuration(f.spanMs ?? 0)}`)
    if (f.archiveLag !== null) parts.push(`archive lag ${f.archiveLagCapped ? "≥" : ""}${f.archiveLag}`)
    parts.push(f.lastTrim === null ? "never trimmed" : `last trim ${new Date(f.lastTrim.at).toISOString()} removed ${f.lastTrim.removed}`)
    parts.push(`removed ${f.removed} in all`)
    if (f.dropped !== null) parts.push(`dropped ${f.dropped}`)
    out.push(`  ${f.key}  ${parts.join(", ")}`)
  }
  return out
}
