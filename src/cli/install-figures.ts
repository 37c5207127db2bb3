/**
 * A partitioned install as `strata status` prints it: the members, the router (holder,
 * epoch, lag of the ingress stream, the ingress streams' figures) and, per partition, its
 * holder, epoch, the lag of its scores stream and its streams' figures.
 * Formats only: engine/install-view.ts reads the figures.
 */
import type { HolderView, InstallView } from "../engine/install-view.ts"
import { formatStreamFigures, shortDuration } from "./stream-figures.ts"

const holder = (h: HolderView, nowMs: number): string =>
  h.owner === null ? "owner none" : `owner ${h.owner}  epoch ${h.epoch ?? "?"}  for ${shortDuration(Math.max(0, nowMs - (h.sinceMs ?? nowMs)))}`

const lag = (n: number | null): string => `lag ${n ?? "? (no group yet)"}`

export const formatInstall = (v: InstallView, archiveEnabled: boolean): string[] => {
  const out = [`members (${v.members.length})`]
  for (const m of v.members) {
    out.push(`  ${m.id}  member for ${shortDuration(Math.max(0, v.nowMs - m.sinceMs))}, ends in ${shortDuration(Math.max(0, m.endsMs - v.nowMs))} unless renewed${m.founding ? ", founding" : ""}`)
  }
  const streams = (lines: string[]) => lines.slice(1).map((l) => `  ${l}`)
  out.push(`router  ${holder(v.router, v.nowMs)}  ${lag(v.router.lag)}`)
  out.push(...streams(formatStreamFigures(v.router.streams, archiveEnabled)))
  const unowned = v.partitions.filter((p) => p.owner === null).length
  out.push(`partitions (${v.count}${unowned > 0 ? `, ${unowned} without an owner` : ""}; oldest entry age: Redis TIME minus the entry ID's time)`)
  for (const p of v.partitions) {
    out.push(`  ${p.partition}  ${holder(p, v.nowMs)}  scores ${lag(p.lag)}`)
    out.push(...streams(formatStreamFigures(p.streams, archiveEnabled)))
  }
  return out
}
