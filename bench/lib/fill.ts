/** Pre-filling a stream with workload entries, pipelined in chunks, under their own IDs. */
import type { Redis } from "ioredis"
import type { StreamEntry } from "../../streams/entry.ts"

export const fillStream = async (redis: Redis, stream: string, entries: Iterable<StreamEntry>, chunk = 2000): Promise<number> => {
  let n = 0
  let p = redis.pipeline()
  let inPipe = 0
  const flush = async () => {
    if (inPipe === 0) return
    const res = await p.exec()
    const err = res?.find(([e]) => e)?.[0]
    if (err) throw err
    p = redis.pipeline()
    inPipe = 0
  }
  for (const e of entries) {
    p.xadd(stream, e.id, ...e.fields)
    n++
    if (++inPipe >= chunk) await flush()
  }
  await flush()
  return n
}

/** How often `timeProgress` reads by default, ms. */
export const PROGRESS_EVERY_MS = 20

/**
 * Events/s of a drain timed by `timeProgress`. A drain short enough to finish between two
 * readings (a tiny backlog on a fast machine) has first = done: it counts as one reading
 * interval, not as an infinite rate.
 */
export const drainRateOf = (events: number, t: { readonly first: number; readonly done: number }, everyMs = PROGRESS_EVERY_MS): number =>
  events / (Math.max(t.done - t.first, everyMs) / 1000)

/** Poll `read` every `everyMs` until it reaches `target`; returns the time it first exceeded 0 and the time it got there. */
export const timeProgress = async (
  read: () => Promise<number>, target: number, timeoutMs: number, everyMs = PROGRESS_EVERY_MS
): Promise<{ first: number; done: number }> => {
  const deadline = performance.now() + timeoutMs
  let first = NaN
  for (;;) {
    const v = await read()
    const now = performance.now()
    if (v > 0 && Number.isNaN(first)) first = now
    if (v >= target) return { first, done: now }
    if (now > deadline) throw new Error(`timed out at ${v} of ${target}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
