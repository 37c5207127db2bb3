/**
 * On a real 3-master Redis Cluster (started for this file, stopped after it): every key of
 * a partition lies in one slot, the one Redis itself computes; one Lua script can take all
 * of a partition's keys, and is refused (CROSSSLOT) keys of two partitions; the engine's
 * lease scripts run for partitions on every master, while its atomic step, which still
 * takes the ingress streams beside a partition's keys, is refused; and with the
 * slot-chosen tags the default partition count lands evenly on the three masters, where
 * the plain tags `{0}`…`{23}` do not.
 */
import { randomBytes } from "node:crypto"
import calculateSlot from "cluster-key-slot"
import { Redis } from "ioredis"
import { applyBatch } from "../../streams/atomic-step.ts"
import { GROUPS, ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { PartitionLease } from "../../streams/lease.ts"
import { beforeAll, describe, expect, it } from "vitest"
import { DEFAULT_PARTITIONS, partitionTag, partitionTags, tagSlot } from "../../streams/partition-tags.ts"
import { useRedisCluster } from "../helpers/redis-cluster.ts"

const fixture = useRedisCluster({ masters: 3 })
const prefix = `t${randomBytes(5).toString("hex")}`

/** Writes every key it is given and returns how many it wrote. */
const WRITE_ALL = "for i, k in ipairs(KEYS) do redis.call('SET', k, ARGV[1]) end return #KEYS"

const keysOf = (p: number): string[] => Object.values(partitionKeys(prefix, p, DEFAULT_PARTITIONS)).filter((v): v is string => typeof v === "string")

let masterOf: (slot: number) => number

beforeAll(async () => {
  const map = await fixture.slotMap()
  masterOf = (slot) => {
    const range = map.find(([first, last]) => slot >= first && slot <= last)
    if (!range) throw new Error(`slot ${slot} is served by no master`)
    return range[2]
  }
})

describe("partition keys on a Redis Cluster", () => {
  it("serves all 16384 slots from three masters, in contiguous ranges", async () => {
    const map = await fixture.slotMap()
    expect(new Set(map.map(([, , port]) => port))).toEqual(new Set(fixture.nodes().map((n) => n.port)))
    expect(map.reduce((n, [first, last]) => n + last - first + 1, 0)).toBe(16384)
  })

  it("puts every key of a partition in one slot, the slot Redis computes for it", async () => {
    const node = fixture.nodes()[0]!
    const direct = new Redis({ host: node.host, port: node.port })
    try {
      for (const p of [0, 1, 5, 23]) {
        const serverSlots = await Promise.all(keysOf(p).map((k) => direct.cluster("KEYSLOT", k)))
        expect(new Set(serverSlots)).toEqual(new Set([tagSlot(partitionTag(p, DEFAULT_PARTITIONS))]))
      }
    } finally {
      await direct.quit()
    }
  })

  it("runs one script over all of a partition's keys, and refuses keys of two partitions", async () => {
    const cluster = fixture.connect()
    for (const p of [0, 1, 2]) {
      const keys = keysOf(p)
      expect(await cluster.eval(WRITE_ALL, keys.length, ...keys, `p${p}`)).toBe(keys.length)
      expect(await Promise.all(keys.map((k) => cluster.get(k)))).toEqual(keys.map(() => `p${p}`))
    }
    // Partitions 0 and 1 have different slots: Redis refuses the mix.
    await expect(cluster.eval(WRITE_ALL, 2, partitionKeys(prefix, 0, DEFAULT_PARTITIONS).stats, partitionKeys(prefix, 1, DEFAULT_PARTITIONS).stats, "x")).rejects.toThrow(/CROSSSLOT/)
  })

  it("runs the engine's own lease scripts for partitions on every master", async () => {
    // The lease takes a connection; a Cluster client answers the same commands.
    const cluster = fixture.connect() as unknown as Redis
    // One partition per master, none of those the tests above wrote strings to.
    const byMaster = new Map<number, number>()
    const slotOf = (p: number) => tagSlot(partitionTag(p, DEFAULT_PARTITIONS))
    for (let p = 3; byMaster.size < 3; p++) if (!byMaster.has(masterOf(slotOf(p)))) byMaster.set(masterOf(slotOf(p)), p)
    for (const p of byMaster.values()) {
      const lease = new PartitionLease(cluster, partitionKeys(prefix, p, DEFAULT_PARTITIONS), 10_000, `owner-${p}`)
      expect(await lease.acquire()).toEqual({ held: true, epoch: "1" })
      expect(await lease.renew()).toEqual({ renewed: true })
      expect(await lease.release()).toBe(true)
    }
  })

  it("refuses the atomic step while it takes the ingress streams with a partition's keys (the guard's known exception)", async () => {
    const cluster = fixture.connect() as unknown as Redis
    const payload = { ids: ["1-0"], snaps: [], lifecycle: [], backfill: [], dead: [], stats: [], streamTime: null, fence: { owner: "o", epoch: "1", step: "0" } }
    await expect(applyBatch(cluster, ingressKeys(prefix), partitionKeys(prefix, 0), GROUPS.engine, payload)).rejects.toThrow(/CROSSSLOT/)
  })

  it("spreads the partitions' slot-chosen tags evenly over the three masters", async () => {
    const cluster = fixture.connect()
    const tags = partitionTags(DEFAULT_PARTITIONS)
    const per = new Map<number, number>()
    for (const tag of tags) {
      const key = `${prefix}:{${tag}}:probe`
      await cluster.set(key, tag)
      per.set(masterOf(tagSlot(tag)), (per.get(masterOf(tagSlot(tag))) ?? 0) + 1)
    }
    expect([...per.values()]).toEqual([8, 8, 8])
    // The keys really are where the slot map says: each master holds 8 of them.
    for (const n of fixture.nodes()) {
      const direct = new Redis({ host: n.host, port: n.port })
      try {
        expect((await direct.keys(`${prefix}:*:probe`)).length, `master ${n.port}`).toBe(8)
      } finally {
        await direct.quit()
      }
    }
    // The plain tags bunch: 9, 9 and 6 partitions per master.
    const plain = new Map<number, number>()
    for (let p = 0; p < DEFAULT_PARTITIONS; p++) plain.set(masterOf(tagSlot(String(p))), (plain.get(masterOf(tagSlot(String(p)))) ?? 0) + 1)
    expect([...plain.values()].sort()).toEqual([6, 9, 9])
  })
})
