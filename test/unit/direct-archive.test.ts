/**
 * Pure units of the direct streams' archive: the tree of partition P's direct stream
 * (`scores/direct/<P>/YYYY/MM/DD/HH/…`, parsed back to its partition, never taken for an
 * ingress part or another partition's), the direct marks' keys (one per direct stream, in
 * the partition's slot, fenced by its lease), and the history's merge of several streams by
 * entry ID with its tie rule (ingress first, then the direct streams by partition).
 */
import { fc, test } from "@fast-check/vitest"
import calculateSlot from "cluster-key-slot"
import { expect, it } from "vitest"
import { compareEntryIds, entryIdMs } from "../../src/domain/time.ts"
import { installHistory, mergeById } from "../../src/replay/history.ts"
import { archiveRoot, hourFolder, parsePartKey, partKey } from "../../src/storage/scores-archive.ts"
import type { StreamEntry } from "../../streams/entry.ts"
import { archiveKeys, directArchiveKeys, installPartitionKeys, partitionKeys } from "../../streams/keys.ts"

const entryId = fc.tuple(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2199, 11, 31) }), fc.bigInt({ min: 0n, max: 18446744073709551615n }))
  .map(([ms, seq]) => `${ms}-${seq}`)
const arbPrefix = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,64}$/)

test.prop([entryId, fc.bigInt({ min: 1n, max: 1n << 40n }), fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined })])(
  "a part names its stream's tree and the UTC hour of its first ID, and parses back to both",
  (id, epoch, partition) => {
    const key = partKey(id, String(epoch), partition)
    const hour = hourFolder(entryIdMs(id)).slice("scores/".length)
    expect(key).toBe(`${partition === undefined ? "scores/" : `scores/direct/${partition}/`}${hour}${id}.e${epoch}.parquet`)
    expect(key.startsWith(archiveRoot(partition))).toBe(true)
    const parsed = parsePartKey(key)
    expect(parsed).toEqual({ key, firstId: id, epoch: String(epoch), ...(partition === undefined ? {} : { partition }) })
    expect(parsed?.partition).toBe(partition)
  }
)

it("refuses what is no part of a direct tree", () => {
  expect(parsePartKey("scores/direct/01/2026/11/02/14/1793631234567-0.e3.parquet")).toBeUndefined()
  expect(parsePartKey("scores/direct/x/2026/11/02/14/1793631234567-0.e3.parquet")).toBeUndefined()
  expect(parsePartKey("scores/direct/2026/11/02/14/1793631234567-0.e3.parquet")).toBeUndefined()
  expect(() => archiveRoot(-1)).toThrow(/partition/)
})

test.prop([arbPrefix, fc.integer({ min: 2, max: 64 })])("each direct stream's mark is its own, in its partition's slot, fenced by the partition's lease", (prefix, count) => {
  const marks = new Set<string>()
  for (const k of installPartitionKeys(prefix, count)) {
    const d = directArchiveKeys(prefix, k.partition, count)
    expect([d.lease, d.leaseEpoch, d.scoresArchived]).toEqual([k.lease, k.leaseEpoch, k.scoresDirectArchived])
    expect(calculateSlot(d.scoresArchived)).toBe(calculateSlot(k.scoresDirect))
    expect(d.scoresArchived).not.toBe(archiveKeys(prefix, count).scoresArchived)
    marks.add(d.scoresArchived)
  }
  expect(marks.size).toBe(count)
  // The history reads each direct stream with its own mark; one partition has no direct stream.
  expect(installHistory(prefix, count).directs?.map((d) => [d.scores, d.keys.scoresArchived]))
    .toEqual(installPartitionKeys(prefix, count).map((k) => [k.scoresDirect, k.scoresDirectArchived]))
  expect(installHistory(prefix, 1).directs).toEqual([])
  expect(partitionKeys(prefix, 0).scoresDirectArchived).toBe(`${prefix}:{0}:scores:direct:archived`)
})

async function* from(entries: readonly StreamEntry[]): AsyncGenerator<StreamEntry> {
  yield* entries
}

const sortedIds = fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 3 })).map(([ms, seq]) => `${ms}-${seq}`))
  .map((ids) => [...ids].sort(compareEntryIds))

test.prop([fc.array(sortedIds, { minLength: 1, maxLength: 5 })])("merges ordered streams by ID, equal IDs in the order of the streams, nothing lost or doubled", async (streams) => {
  const tagged = streams.map((ids, s) => ids.map((id) => ({ id, fields: ["stream", String(s)] })))
  const got: StreamEntry[] = []
  for await (const e of mergeById(tagged.map(from))) got.push(e)
  const want = tagged.flat().sort((a, b) => compareEntryIds(a.id, b.id) || Number(a.fields[1]) - Number(b.fields[1]))
  expect(got).toEqual(want)
})
