/**
 * The shipped Grafana dashboard and Prometheus rules query only what the engine exports:
 * every metric name in every PromQL expression is one a real metrics Registry of the
 * engine registers (histograms with their _bucket/_sum/_count series).
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { loadConfig } from "../../config/load.ts"
import { engineMetrics } from "../../src/http/metrics.ts"
import { streamMetrics } from "../../src/http/stream-metrics.ts"
import { trimPlan } from "../../streams/trim-plan.ts"
import type { Ingest } from "../../src/engine/ingest.ts"
import type { Projector } from "../../src/engine/projector.ts"
import type { Redis } from "../../src/services/redis.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"

const file = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), "utf8")

/** Names a real Registry of the engine holds. Nothing is scraped, so no connection is used. */
const exportedNames = (): { names: Set<string>; types: Map<string, string> } => {
  const ingest = { onCommit: [], stats: {}, store: { size: 0 }, ingress: ingressKeys("x"), keys: partitionKeys("x", 0) } as unknown as Ingest
  const { registry } = engineMetrics(ingest, {} as Projector, {} as Redis, {} as never)
  streamMetrics(registry, {} as Redis, trimPlan(loadConfig({ env: {}, overrides: { redis: { prefix: "x" } } })))
  const names = new Set<string>()
  const types = new Map<string, string>()
  for (const m of registry.getMetricsAsArray() as unknown as { name: string; type: string }[]) {
    types.set(m.name, m.type)
    names.add(m.name)
    if (m.type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s)
  }
  return { names, types }
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"])

/** Metric names in a PromQL expression: identifiers outside strings, label sets and ranges that are not functions or keywords. */
export const metricNames = (expr: string): string[] => {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
  const names: string[] = []
  for (const m of bare.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m
    if (call || KEYWORDS.has(name!.toLowerCase())) continue
    names.push(name!)
  }
  return names
}

const grafanaExprs = (dashboard: { panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { query?: unknown }[] } }) => [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
  ...dashboard.templating.list.flatMap((v) => {
    const q = typeof v.query === "string" ? /^label_values\((.*),\s*\w+\)$/.exec(v.query)?.[1] : undefined
    return q ? [{ where: "variable", expr: q }] : []
  })
]

describe("monitoring files", () => {
  const { names, types } = exportedNames()

  it("finds metric names in PromQL and ignores functions, labels and ranges", () => {
    expect(metricNames('sum by (le) (rate(a_bucket{job=~"$job",le="0.1"}[5m])) / on (x) group_left(y) b > 0.1 and c offset 5m'))
      .toEqual(["a_bucket", "b", "c"])
    expect(metricNames("histogram_quantile(0.99, sum by (le) (rate(x_bucket[$__rate_interval])))")).toEqual(["x_bucket"])
  })

  it("types the running totals as counters and latency as a histogram, with one prefix", () => {
    for (const [name, type] of types) {
      if (name.endsWith("_total") && !name.startsWith("strata_nodejs_")) expect(`${name} ${type}`).toBe(`${name} counter`)
      expect(name).toMatch(/^strata_/)
      expect(name).not.toMatch(/^strata_process_process_|^strata_process_nodejs_/)
    }
    expect(types.get("strata_ingest_commit_latency_seconds")).toBe("histogram")
  })

  it("the Grafana dashboard queries only exported metrics", () => {
    const dashboard = JSON.parse(file("monitoring/grafana/strata-engine.json"))
    const exprs = grafanaExprs(dashboard)
    expect(exprs.length).toBeGreaterThan(10)
    for (const { where, expr } of exprs) {
      const used = metricNames(expr)
      expect(used.length, `${where}: ${expr}`).toBeGreaterThan(0)
      for (const n of used) expect(names.has(n), `${where} queries ${n}, which is not exported`).toBe(true)
    }
  })

  it("the Prometheus rules parse and query only exported metrics, covering lag, dead letters, stale claims and SLO burn", () => {
    const rules = parse(file("monitoring/prometheus/strata-alerts.yml")) as { groups: { rules: { alert: string; expr: string }[] }[] }
    const all = rules.groups.flatMap((g) => g.rules)
    for (const r of all) {
      const used = metricNames(r.expr)
      expect(used.length, r.alert).toBeGreaterThan(0)
      for (const n of used) expect(names.has(n), `${r.alert} queries ${n}, which is not exported`).toBe(true)
    }
    const used = new Set(all.flatMap((r) => metricNames(r.expr)))
    for (const n of ["strata_group_backlog", "strata_dead_letters", "strata_consumer_idle_seconds", "strata_ingest_commit_latency_seconds_bucket"]) {
      expect(used.has(n), n).toBe(true)
    }
  })
})
