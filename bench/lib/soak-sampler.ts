/**
 * The soak's readings, one function each: Redis used_memory and one key's MEMORY USAGE, a
 * process's RSS, the keys under a prefix (and their memory but one stream's), the rows the scanner archive holds (parts at or
 * below the mark), and the lowest heap each thread of the engine reported since the last
 * reading (from the lines soak-heap-probe.mjs appends). Reads only; the soak decides when.
 */
import { existsSync, readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import { compareEntryIds } from "../../src/domain/time.ts"
import type { ObjectStore } from "../../src/storage/object-store.ts"
import { ARCHIVE_ROOT, parsePartKey, partRowCount } from "../../src/storage/scores-archive.ts"

/** One line of soak-heap-probe.mjs. */
export interface HeapLine {
  /** "main": the engine's thread; "worker": a worker thread (the engine's one is the archive thread). */
  readonly thread: "main" | "worker"
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly majorGcs: number
}

export const usedMemory = async (redis: Redis): Promise<number> =>
  Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0)

/** Every entry counted (SAMPLES 0): a stream's nodes are not alike. */
export const keyMemory = async (redis: Redis, key: string): Promise<number> =>
  Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0)

export const rssOf = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024

/** The keys under a prefix, and the MEMORY USAGE of all of them but `except`. */
export const keysUnder = async (redis: Redis, prefix: string, except: string): Promise<{ count: number; bytes: number }> => {
  let count = 0
  let bytes = 0
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
    for (const key of keys) {
      count++
      if (key !== except) bytes += await keyMemory(redis, key)
    }
    cursor = next
  } while (cursor !== "0")
  return { count, bytes }
}

/**
 * Rows archived so far: parts at or below the mark are verified and never change, so each is
 * read (its footer) once; `counted` carries them from one sample to the next.
 */
export const archivedRows = async (store: ObjectStore, mark: string | undefined, counted: Map<string, number>): Promise<number> => {
  if (mark !== undefined) {
    for (const key of await store.list(ARCHIVE_ROOT)) {
      const part = parsePartKey(key)
      if (!part || counted.has(key) || compareEntryIds(part.firstId, mark) > 0) continue
      counted.set(key, (await partRowCount(store, key)) ?? 0)
    }
  }
  let rows = 0
  for (const n of counted.values()) rows += n
  return rows
}

/**
 * The lowest heapUsed of each thread since the previous call: a heap's level between its
 * collections is mostly garbage, its low point what it holds; and the full collections each
 * has had so far. Undefined for a thread that reported nothing in between.
 */
export const heapFloors = (file: string) => {
  let offset = 0
  const gcs: { main?: number; worker?: number } = {}
  return (): { floors: { main?: number; worker?: number }; gcs: { main?: number; worker?: number } } => {
    if (!existsSync(file)) return { floors: {}, gcs }
    const text = readFileSync(file, "utf8")
    const end = text.lastIndexOf("\n") + 1
    const lines = text.slice(offset, end).split("\n").filter(Boolean)
    offset = end
    const out: { main?: number; worker?: number } = {}
    for (const line of lines) {
      const h = JSON.parse(line) as HeapLine
      out[h.thread] = Math.min(out[h.thread] ?? Infinity, h.heapUsed)
      gcs[h.thread] = h.majorGcs
    }
    return { floors: out, gcs: { ...gcs } }
  }
}
