/**
 * Text renderings of a replay summary and of a what-if report, for the terminal. Stable
 * output: keys in a fixed order, no timings, so two runs of the same replay print the same.
 */
import { LAYER_NAMES, type Layer } from "../domain/layers.ts"
import type { WhatIfReport } from "./diff.ts"
import type { ReplaySummary } from "./summary.ts"

const layer = (k: string | number): string => LAYER_NAMES[Number(k) as Layer] ?? String(k)
const pair = (k: string): string => {
  const [from = "", to = ""] = k.split("->")
  return `${layer(from)} → ${layer(to)}`
}
const n = (v: number): string => v.toLocaleString("en-US")

export const summaryText = (s: ReplaySummary): string => {
  const lines = [
    `events          ${n(s.events)}  (applied ${n(s.applied)}, late ${n(s.late)}, dead letters ${n(s.dead)})`,
    `symbols         ${n(s.symbols)}  final layers: ${[0, 1, 2, 3].map((l) => `${layer(l)} ${n(s.finalLayers[String(l)] ?? 0)}`).join(", ")}`,
    `transitions     ${n(s.transitionsTotal)}`
  ]
  for (const [k, v] of Object.entries(s.transitions)) lines.push(`  ${pair(k).padEnd(24)} ${n(v)}`)
  lines.push(`backfill        ${n(s.commands.total)} commands, ~${n(s.estimatedProviderRequests)} provider requests (estimate, nothing held)`)
  for (const [k, v] of Object.entries(s.commands.byLayer)) lines.push(`  to ${layer(k).padEnd(21)} ${n(v)}`)
  for (const [k, v] of Object.entries(s.commands.byDataType)) lines.push(`  ${k.padEnd(24)} ${n(v)}`)
  return `${lines.join("\n")}\n`
}

export const whatIfText = (r: WhatIfReport, limit = 50): string => {
  const { a, b } = r
  const row = (name: string, va: number, vb: number) =>
    `  ${name.padEnd(28)} ${n(va).padStart(12)} ${n(vb).padStart(12)} ${(vb - va >= 0 ? "+" : "") + n(vb - va)}`
  const lines = [
    `what-if: A = ${a.label}, B = ${b.label}`,
    `  ${"".padEnd(28)} ${"A".padStart(12)} ${"B".padStart(12)} B − A`,
    row("transitions", a.summary.transitionsTotal, b.summary.transitionsTotal),
    row("backfill commands", a.summary.commands.total, b.summary.commands.total),
    row("est. provider requests", a.summary.estimatedProviderRequests, b.summary.estimatedProviderRequests),
    ...[0, 1, 2, 3].map((l) => row(`final ${layer(l)}`, a.summary.finalLayers[String(l)] ?? 0, b.summary.finalLayers[String(l)] ?? 0)),
    `symbols whose final layer differs: ${n(r.layerChanges.length)}`
  ]
  for (const c of r.layerChanges.slice(0, limit)) lines.push(`  ${c.symbol.padEnd(16)} ${layer(c.a)} → ${layer(c.b)}`)
  if (r.layerChanges.length > limit) lines.push(`  … and ${n(r.layerChanges.length - limit)} more`)
  for (const [name, list] of [["gained under B", r.gained], ["lost under B", r.lost]] as const) {
    lines.push(`transitions ${name}: ${n(list.length)}`)
    for (const t of list.slice(0, limit)) {
      lines.push(`  ${t.symbol.padEnd(16)} ${layer(t.from)} → ${layer(t.to)}  at ${new Date(t.at).toISOString()}  cause ${t.cause}`)
    }
    if (list.length > limit) lines.push(`  … and ${n(list.length - limit)} more`)
  }
  return `${lines.join("\n")}\n`
}
