/**
 * Partition hash tags chosen by slot: partition 0 keeps `0`, every tag lies inside its own
 * share of the 16384 slots, and so the masters of a redis-cli-made Cluster get an even
 * number of partitions when their count divides the partition count. The slot function is
 * pinned against CRC16/XMODEM as Python's binascii.crc_hqx computes it.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { MAX_PARTITIONS } from "../../streams/partition.ts"
import {
  CLUSTER_SLOTS, DEFAULT_PARTITIONS, choosePartitionTags, partitionShare, partitionTag, partitionTags, shareOfSlot, slotShare, tagSlot
} from "../../streams/partition-tags.ts"

/**
 * The master split of `redis-cli --cluster create` (redis-cli.c, clusterManagerCommandCreate):
 * master i gets [first, lround(cursor + 16384 / M - 1)], the last one up to 16383.
 */
const redisCliSplit = (masters: number): { first: number; last: number }[] => {
  const per = CLUSTER_SLOTS / masters
  const out: { first: number; last: number }[] = []
  let first = 0
  let cursor = 0
  for (let i = 0; i < masters; i++) {
    let last = Math.round(cursor + per - 1)
    if (last > CLUSTER_SLOTS || i === masters - 1) last = CLUSTER_SLOTS - 1
    if (last < first) last = first
    out.push({ first, last })
    first = last + 1
    cursor += per
  }
  return out
}

/** Partitions per master of a redis-cli split, for these tags. */
const perMaster = (tags: readonly string[], masters: number): number[] => {
  const split = redisCliSplit(masters)
  const counts = new Array<number>(masters).fill(0)
  for (const t of tags) counts[split.findIndex((r) => tagSlot(t) >= r.first && tagSlot(t) <= r.last)]! += 1
  return counts
}

describe("partition tags", () => {
  it("computes the slot Redis does (CRC16/XMODEM mod 16384, pinned with binascii.crc_hqx)", () => {
    expect([tagSlot("0"), tagSlot("1"), tagSlot("2"), tagSlot("3"), tagSlot("11"), tagSlot("1-1"), tagSlot("1-2"), tagSlot("23"), tagSlot("123456789")])
      .toEqual([13907, 9842, 5649, 1584, 4310, 9309, 5182, 9671, 12739])
  })

  it("keeps partition 0's tag `0` for every count", () => {
    for (let count = 1; count <= MAX_PARTITIONS; count *= 2) expect(partitionTag(0, count)).toBe("0")
    expect(partitionTags(1)).toEqual(["0"])
  })

  it("cuts the slots into shares that cover them once, in order", () => {
    for (const count of [1, 3, 7, 12, 24, 100, MAX_PARTITIONS]) {
      let next = 0
      for (let r = 0; r < count; r++) {
        const { first, last } = slotShare(r, count)
        expect(first).toBe(next)
        expect(shareOfSlot(first, count)).toBe(r)
        expect(shareOfSlot(last, count)).toBe(r)
        next = last + 1
      }
      expect(next).toBe(CLUSTER_SLOTS)
    }
  })

  test.prop([fc.integer({ min: 1, max: MAX_PARTITIONS })], { seed: 4201, numRuns: 40 })(
    "gives each partition a distinct slot inside its own share, off the share's edges, the same on every call",
    (count) => {
      const tags = choosePartitionTags(count)
      expect(tags.length).toBe(count)
      expect(new Set(tags.map(tagSlot)).size).toBe(count)
      tags.forEach((tag, p) => {
        expect(tag).toMatch(p === 0 ? /^0$/ : new RegExp(`^${p}(-\\d+)?$`))
        const slot = tagSlot(tag)
        const share = partitionShare(p, count)
        expect(shareOfSlot(slot, count)).toBe(share)
        if (p > 0) {
          const { first, last } = slotShare(share, count)
          expect(slot > first && slot < last, `partition ${p}: slot ${slot} on an edge of [${first}, ${last}]`).toBe(true)
        }
      })
      expect(choosePartitionTags(count)).toEqual(tags)
      expect(partitionTags(count)).toEqual(tags)
    }
  )

  test.prop([fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 32 })], { seed: 4202, numRuns: 100 })(
    "spreads count partitions evenly over M redis-cli masters whenever M divides count",
    (masters, k) => {
      const count = masters * k
      fc.pre(count <= MAX_PARTITIONS)
      expect(perMaster(partitionTags(count), masters)).toEqual(new Array<number>(masters).fill(k))
    }
  )

  it("spreads the default count evenly over 2, 3, 4, 6 and 8 masters, where the plain tags bunch", () => {
    expect(DEFAULT_PARTITIONS).toBe(24)
    for (const masters of [2, 3, 4, 6, 8]) expect(perMaster(partitionTags(DEFAULT_PARTITIONS), masters)).toEqual(new Array<number>(masters).fill(24 / masters))
    // The reason for choosing by slot: `{0}`…`{23}` put 9, 9 and 6 partitions on 3 masters.
    const plain = Array.from({ length: DEFAULT_PARTITIONS }, (_, p) => String(p))
    expect(perMaster(plain, 3)).toEqual([9, 9, 6])
  })

  it("never changes the tags of the default count: a changed tag would move every key of its partition", () => {
    expect(partitionTags(DEFAULT_PARTITIONS)).toEqual([
      "0", "1-30", "2-1", "3-50", "4-12", "5-11", "6-61", "7-13", "8-2", "9-1", "10-42", "11-52",
      "12-2", "13-43", "14-42", "15-41", "16", "17-53", "18-52", "19-20", "20-50", "21-62", "22-40", "23-43"
    ])
  })

  it("refuses a partition outside [0, count)", () => {
    for (const bad of [-1, 24, 1.5]) expect(() => partitionTag(bad, 24)).toThrow(/invalid partition/)
  })
})
