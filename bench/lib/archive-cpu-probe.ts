/**
 * The archive thread's CPU per row, by stage: fills a Redis (a private redis-server it starts
 * and stops, or the one STRATA_PROBE_REDIS names) with N scores entries shaped like archive-cost's
 * workload, then runs `archivePass` over them into a local-folder lake, several times, and
 * splits the process' CPU (process.cpuUsage, user + system: the machine is shared, so wall
 * time says little) by what the pass was doing: XRANGE calls (send + reply decoding), building
 * rows and encoding (between the last read and the first put), the put, the read-back check
 * (after a put until the next put or listing), the leftover listing and deletions, and the rest
 * (mark, lease, group bound). Encoding alone is then measured on the rows read back from the
 * part, and rows = build − encode.
 * On a Redis it is given, it deletes only the keys of its own prefix.
 * Run: npx tsx bench/lib/archive-cpu-probe.ts [events=100000] [reps=3]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { workload } from "../../fixtures/workload.ts"
import { archivePass, type ArchiverDeps } from "../../src/engine/archiver.ts"
import { localObjectStore, objectAsyncBuffer, type ObjectStore } from "../../src/storage/object-store.ts"
import { startRedis, type PrivateServer } from "../../src/services/private-servers.ts"
import { ARCHIVE_ROOT, decodeArchivePart, encodeArchivePart, type ArchivedScore } from "../../src/storage/scores-archive.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { PartitionLease } from "../../streams/lease.ts"
import { fillStream } from "./fill.ts"

const events = Number(process.argv[2] ?? 100_000)
const reps = Number(process.argv[3] ?? 3)
const given = process.env["STRATA_PROBE_REDIS"]
const prefix = "probe"

type Stage = "read" | "build" | "put" | "verify" | "list" | "other"
const STAGES: readonly Stage[] = ["read", "build", "put", "verify", "list", "other"]
const cpuNow = () => { const u = process.cpuUsage(); return u.user + u.system }

/** Accumulates CPU µs into the stage current at each transition. */
class Meter {
  stage: Stage = "other"
  at = cpuNow()
  readonly us = new Map<Stage, number>(STAGES.map((s) => [s, 0]))
  to(next: Stage) {
    const now = cpuNow()
    this.us.set(this.stage, (this.us.get(this.stage) ?? 0) + now - this.at)
    this.at = now
    this.stage = next
  }
}

const meteredRedis = (redis: Redis, m: Meter): Redis => new Proxy(redis, {
  get(target, name, receiver) {
    const v = Reflect.get(target, name, receiver)
    if (typeof v !== "function" || typeof name !== "string") return v
    const stage: Stage = name.startsWith("xrange") ? "read" : "other"
    return (...args: unknown[]) => {
      m.to(stage)
      const out = (v as (...a: unknown[]) => unknown).apply(target, args)
      if (out instanceof Promise) return out.finally(() => m.to("build"))
      return out
    }
  }
})

const meteredStore = (store: ObjectStore, m: Meter): ObjectStore => ({
  location: store.location,
  put: async (k, b) => { m.to("put"); try { await store.put(k, b) } finally { m.to("verify") } },
  get: (k, r) => store.get(k, r),
  size: (k) => store.size(k),
  list: async (p) => { m.to("list"); return store.list(p) },
  delete: async (k) => { m.to("list"); return store.delete(k) },
  close: () => store.close()
})

const main = async (url: string) => {
  const redis = new Redis(url, { lazyConnect: false })
  // An install of one partition: partition 0's lease fences the mark (keys.ts archiveKeys).
  const keys = partitionKeys(prefix, 0)
  const source = ingressKeys(prefix)
  const spec = { events, symbols: Math.min(10_000, events), seed: 3, start: Date.UTC(2026, 0, 5, 14, 30), stepMs: 50 }
  await redis.del(source.scores, source.scoresDead, keys.scoresArchived, keys.lease)
  await fillStream(redis, source.scores, workload(spec))
  await redis.xgroup("CREATE", source.scores, GROUPS.engine, "$")
  const lease = new PartitionLease(redis, keys, 600_000)
  if (!(await lease.acquire()).held) throw new Error("lease not acquired")
  const holder = lease.held(0)
  const results: Map<Stage | "rows" | "encode" | "total", number>[] = []
  for (let rep = 0; rep < reps; rep++) {
    const dir = mkdtempSync(join(tmpdir(), "strata-probe-"))
    try {
      await redis.del(keys.scoresArchived)
      const m = new Meter()
      const store = localObjectStore(dir)
      const deps: ArchiverDeps = {
        redis: meteredRedis(redis, m), store: meteredStore(store, m), source, keys, appliedBy: GROUPS.engine,
        limits: { maxFields: 64, maxValueLength: 256 }, maxRows: Number(process.env["STRATA_PROBE_MAX_ROWS"] ?? 100_000),
        holder: () => holder
      }
      const t0 = cpuNow()
      m.at = t0
      const report = await archivePass(deps)
      m.to("other")
      const total = cpuNow() - t0
      if (report.rows !== events) throw new Error(`archived ${report.rows} of ${events}`)
      // Encoding alone, on the rows the parts hold.
      const parts = await store.list(ARCHIVE_ROOT)
      let encode = 0
      for (const key of parts) {
        const file = await objectAsyncBuffer(store, key)
        const rows: ArchivedScore[] = []
        for await (const g of decodeArchivePart(file!)) rows.push(...g)
        const e0 = cpuNow()
        await encodeArchivePart(rows)
        encode += cpuNow() - e0
      }
      const r = new Map<Stage | "rows" | "encode" | "total", number>(m.us)
      r.set("encode", encode)
      r.set("rows", (m.us.get("build") ?? 0) - encode)
      r.set("total", total)
      results.push(r)
      console.log(`rep ${rep}: ${report.parts} parts, ${[...r].map(([k, v]) => `${k} ${(v / events).toFixed(1)}`).join(", ")} µs/row`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
  console.log(`median of ${reps}, CPU µs per row (${events} rows):`)
  for (const k of ["read", "rows", "encode", "put", "verify", "list", "other", "total"] as const) {
    console.log(`  ${k.padEnd(7)} ${(med(results.map((r) => r.get(k) ?? 0)) / events).toFixed(1)}`)
  }
  await lease.release()
  await redis.del(source.scores, source.scoresDead, keys.scoresArchived, keys.lease)
  redis.disconnect()
}

const serverDir = given === undefined ? mkdtempSync(join(tmpdir(), "strata-probe-redis-")) : undefined
const server: PrivateServer | undefined = serverDir === undefined ? undefined : await startRedis(serverDir)
try {
  await main(given ?? server!.url)
} finally {
  await server?.stop()
  if (serverDir !== undefined) rmSync(serverDir, { recursive: true, force: true })
}
