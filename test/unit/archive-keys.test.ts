/**
 * The scanner archive's keys and the trim plans they bound: partition 0's mark and lease in
 * an install of one partition; the router's, in the ingress stream's slot, in a partitioned
 * one, where only the ingress streams wait for the mark.
 */
import { fc, test } from "@fast-check/vitest"
import calculateSlot from "cluster-key-slot"
import { expect } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { archiveKeys, ingressKeys, installPartitionKeys, partitionKeys, routerKeys } from "../../streams/keys.ts"
import { installTrimPlans } from "../../streams/trim-plan.ts"

const arbPrefix = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,64}$/)
const defaults = loadConfig({ env: {}, overrides: {} })

test.prop([arbPrefix])("one partition: partition 0's lease and mark, as before partitions", (prefix) => {
  const keys = archiveKeys(prefix, 1)
  const p0 = partitionKeys(prefix, 0)
  expect([keys.lease, keys.leaseEpoch, keys.scoresArchived, keys.inherited]).toEqual([p0.lease, p0.leaseEpoch, p0.scoresArchived, undefined])
})

test.prop([arbPrefix, fc.integer({ min: 2, max: 64 })])("partitioned: the router's lease and mark in the ingress stream's slot, partition 0's mark inherited", (prefix, count) => {
  const keys = archiveKeys(prefix, count)
  const router = routerKeys(prefix)
  expect([keys.lease, keys.leaseEpoch, keys.scoresArchived]).toEqual([router.lease, router.leaseEpoch, router.scoresArchived])
  const slot = calculateSlot(ingressKeys(prefix).scores)
  expect([calculateSlot(keys.lease), calculateSlot(keys.scoresArchived)]).toEqual([slot, slot])
  expect(keys.inherited).toBe(partitionKeys(prefix, 0).scoresArchived)
})

test.prop([arbPrefix, fc.integer({ min: 1, max: 16 }), fc.boolean()])(
  "while the archive is enabled, its mark bounds exactly the ingress scores streams, and each direct stream a mark of its own",
  (prefix, partitions, enabled) => {
    const config = { ...defaults, redis: { ...defaults.redis, prefix }, partitions, archive: { ...defaults.archive, enabled } }
    const ingress = ingressKeys(prefix)
    const mark = archiveKeys(prefix, partitions).scoresArchived
    const bounded = installTrimPlans(config).flatMap((p) => p.targets).filter((t) => t.archiveMark !== undefined)
    // Each direct stream is archived by its partition's holder, and trimmed no further than its own mark.
    const direct = partitions === 1 ? [] : installPartitionKeys(prefix, partitions).map((k) => [k.scoresDirect, k.scoresDirectArchived])
    expect(bounded.map((t) => [t.key, t.archiveMark])).toEqual(enabled ? [[ingress.scores, mark], [ingress.scoresDead, mark], ...direct] : [])
  }
)
