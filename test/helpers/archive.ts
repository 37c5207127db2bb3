/**
 * Reading the scanner archive as stored, for tests that count what it holds, and a range
 * of the history as `strata record` writes it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect } from "vitest"
import { readRecording } from "../../src/replay/file.ts"
import { objectAsyncBuffer, type ObjectStore } from "../../src/storage/object-store.ts"
import { archiveRoot, decodeArchivePart, parsePartKey, sortParts, type ArchivedScore, type PartName } from "../../src/storage/scores-archive.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { runStrata } from "./cli.ts"
import type { TestNamespace } from "./namespace.ts"

/**
 * Every row of every part of one stream's tree (`partition` undefined: the ingress stream's,
 * else that partition's direct stream's), in part order, as stored (no de-duplication): what
 * "exactly once" is checked on.
 */
export const allArchivedRows = async (store: ObjectStore, partition?: number): Promise<ArchivedScore[]> => {
  const out: ArchivedScore[] = []
  const parts = (await store.list(archiveRoot(partition))).map(parsePartKey)
    .filter((p): p is PartName => p !== undefined && p.partition === partition)
  for (const { key } of sortParts(parts)) {
    const file = await objectAsyncBuffer(store, key)
    if (!file) continue
    for await (const rows of decodeArchivePart(file)) out.push(...rows)
  }
  return out
}

/**
 * Settings of a partitioned install that archives and trims its ingress stream quickly:
 * entry IDs a millisecond apart keep only the newest `keep` (an age of 1 ms keeps almost
 * nothing), an archive pass every 100 ms of at most `maxRows` entries a chunk.
 */
export const archivingPartitions = (partitions: number, keep: number, maxRows: number) => ({
  partitions, backfill: { enabled: false }, archive: { every: "100ms", max_rows: maxRows },
  ingest: { block_ms: 100 }, lease: { ttl_ms: 1_500, join_debounce_ms: 300 },
  streams: { trim: { enabled: true, every: "200ms" }, scores: { keep: { age: "1ms", count: keep } } }
})

/** Every entry of a stream of entries, in order. */
export const collect = async (it: AsyncIterable<StreamEntry>): Promise<StreamEntry[]> => {
  const out: StreamEntry[] = []
  for await (const e of it) out.push(e)
  return out
}

/**
 * The entries `strata record` writes for [from, to] in the namespace's install of
 * `partitions` (its lake as configured), read back from the recording; the command must
 * succeed.
 */
export const recordedRange = async (ns: TestNamespace, partitions: number, from: string, to: string, folder: string): Promise<StreamEntry[]> => {
  const dir = mkdtempSync(join(tmpdir(), folder))
  try {
    const out = join(dir, "range.ndjson")
    const config = join(dir, "config.yaml")
    writeFileSync(config, JSON.stringify({ partitions, storage: ns.config.storage }))
    const r = await runStrata({ ...ns.env, STRATA_CONFIG: config }, ["record", "--from", from, "--to", to, "-o", out, "--no-progress", "--json"])
    expect(r.code, r.err).toBe(0)
    return await collect(readRecording(out))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
