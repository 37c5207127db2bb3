/**
 * Feeding a scanner stream into Redis under its own entry IDs. The streams themselves
 * come from fixtures/workload.ts (seeded, deterministic), shared with the bench and the
 * replay tests.
 */
import type { Redis } from "ioredis"
import type { StreamEntry } from "../../streams/entry.ts"

/** XADD entries under their own IDs, pipelined in chunks. */
export const xaddAll = async (redis: Redis, stream: string, entries: readonly StreamEntry[], chunk = 500): Promise<void> => {
  for (let i = 0; i < entries.length; i += chunk) {
    const p = redis.pipeline()
    for (const e of entries.slice(i, i + chunk)) p.xadd(stream, e.id, ...e.fields)
    const res = await p.exec()
    const err = res?.find(([e]) => e)?.[0]
    if (err) throw err
  }
}
