/**
 * Answers for `/readyz` and `/metrics` that never wait on a dependency longer than a
 * budget: a Redis or PostgreSQL that is down or paused (SIGSTOP) makes readiness say 503
 * naming it, and metrics answer with every figure that could be collected in time.
 * Probes are single-flight: while one is still waiting on a stalled server, later
 * requests wait on that same probe rather than piling new commands onto the connection.
 * Does not route requests (ops-server.ts) nor define the probes (the engine's runtime).
 */
import { Effect } from "effect"
import type { Registry } from "prom-client"

/** How long readiness waits for each dependency. */
export const PROBE_BUDGET_MS = 1_000
/** How long one scrape waits for the slowest metric. */
export const METRICS_BUDGET_MS = 2_000

/** A probe resolves true when ready; false or a thrown error (its message is the reason) when not. */
export type Probe = () => Promise<boolean>

export interface Readiness {
  readonly ready: boolean
  /** Each dependency: true when it answered in time. */
  readonly checks: Record<string, boolean>
  /** Why each one that is not ready is not: its error, or that it did not answer in time. */
  readonly down: Record<string, string>
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly reason: string }

const run = (probe: Probe): Promise<Outcome> =>
  probe().then(
    (ok): Outcome => (ok ? { ok: true } : { ok: false, reason: "not ready" }),
    (e: unknown): Outcome => ({ ok: false, reason: e instanceof Error ? e.message : String(e) })
  )

/** `p`'s value, or `fallback` once `ms` have passed without one. */
const within = <A>(p: Promise<A>, ms: number, fallback: A): Promise<A> =>
  Effect.runPromise(
    Effect.promise(() => p).pipe(Effect.timeoutOption(`${ms} millis`), Effect.map((o) => (o._tag === "Some" ? o.value : fallback)))
  )

/** A readiness check over named probes, each bounded by `budgetMs`. */
export const readinessCheck = (probes: Readonly<Record<string, Probe>>, budgetMs = PROBE_BUDGET_MS) => {
  const inFlight = new Map<string, Promise<Outcome>>()
  const probeOnce = (name: string, probe: Probe): Promise<Outcome> => {
    const running = inFlight.get(name)
    if (running) return running
    const started = run(probe).finally(() => inFlight.delete(name))
    inFlight.set(name, started)
    return started
  }
  return async (): Promise<Readiness> => {
    const timedOut: Outcome = { ok: false, reason: `no answer within ${budgetMs} ms` }
    const outcomes = await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => [name, await within(probeOnce(name, probe), budgetMs, timedOut)] as const)
    )
    const checks: Record<string, boolean> = {}
    const down: Record<string, string> = {}
    for (const [name, o] of outcomes) {
      checks[name] = o.ok
      if (!o.ok) down[name] = o.reason
    }
    return { ready: outcomes.every(([, o]) => o.ok), checks, down }
  }
}

/**
 * The registry's text, each metric bounded by `budgetMs`: one whose collection waits on a
 * stalled server is left out, and a comment line names what was left out.
 */
export const boundedMetrics = async (registry: Registry, budgetMs = METRICS_BUDGET_MS): Promise<string> => {
  const metrics = registry.getMetricsAsArray()
  const texts = await Promise.all(
    metrics.map((m) => within(registry.getSingleMetricAsString(m.name).catch(() => undefined), budgetMs, undefined))
  )
  const missing = metrics.filter((_, i) => texts[i] === undefined).map((m) => m.name)
  const body = texts.filter((t): t is string => t !== undefined).join("\n\n")
  return missing.length === 0 ? `${body}\n` : `${body}\n# strata: not collected within ${budgetMs} ms: ${missing.join(", ")}\n`
}
