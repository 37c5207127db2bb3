/** Snapshots are read from each symbol's own partition, answers in the order asked. */
import { afterEach, expect, it } from "vitest"
import { benchSymbol } from "../../fixtures/workload.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { symbolPartition } from "../../streams/partition.ts"
import { readSnapshots } from "../../streams/snapshots-read.ts"
import { testNamespace, type TestNamespace } from "../helpers/namespace.ts"

let ns: TestNamespace | undefined
afterEach(async () => {
  await ns?.cleanup()
  ns = undefined
})

it.each([1, 8, 24])("reads each symbol's snapshot from its partition (%i partitions)", async (count) => {
  ns = await testNamespace()
  const symbols = Array.from({ length: 60 }, (_, i) => benchSymbol(i))
  // Every other symbol has a snapshot, in its own partition's hash only.
  for (const [i, s] of symbols.entries()) {
    if (i % 2 === 0) await ns.redis.hset(partitionKeys(ns.prefix, symbolPartition(s, count), count).snapshots, s, `{"i":${i}}`)
  }
  if (count > 1) expect(new Set(symbols.map((s) => symbolPartition(s, count))).size).toBeGreaterThan(1)
  const asked = [...symbols].reverse()
  const got = await readSnapshots(ns.redis, { prefix: ns.prefix, partitions: count }, asked)
  expect(got).toEqual(asked.map((s) => (symbols.indexOf(s) % 2 === 0 ? `{"i":${symbols.indexOf(s)}}` : null)))
})
