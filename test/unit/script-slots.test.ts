/**
 * Every Lua script the engine runs gets keys of one Cluster slot, that of the partition
 * they belong to. Each script is run through the very function the engine calls it with,
 * on a recorder that stands in for the connection (it keeps the keys of each script call
 * and answers like an idle Redis), so the keys checked are the keys the code builds. A
 * script added under streams/lua that this test does not run fails it, unless it takes a
 * single key; so does a call that passes a key of another slot, unless it is one of the
 * known exceptions below.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import calculateSlot from "cluster-key-slot"
import { DEFAULT_PARTITIONS, partitionTag } from "../../streams/partition-tags.ts"
import type { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { loadConfig } from "../../config/load.ts"
import { advanceArchiveMark } from "../../streams/archive-mark.ts"
import { applyBatch } from "../../streams/atomic-step.ts"
import { applyBatchPending } from "../../streams/atomic-step-pending.ts"
import { extendClaim } from "../../streams/consumer.ts"
import { GROUPS, ingressKeys, membershipKeys, partitionKeys, routerKeys } from "../../streams/keys.ts"
import { Lease, PartitionLease } from "../../streams/lease.ts"
import { heartbeat, leave } from "../../streams/membership.ts"
import { copyToPartition, readFenced } from "../../streams/route.ts"
import { DEAD_LETTER_SOURCES, redriveOnce } from "../../streams/stored-dead-letter.ts"
import { recordOf, trimBelow } from "../../streams/trim.ts"
import { installTrimPlans, trimPlan } from "../../streams/trim-plan.ts"

const LUA_DIR = new URL("../../streams/lua/", import.meta.url)
const SCRIPTS = readdirSync(LUA_DIR).filter((f) => f.endsWith(".lua")).sort()
const scriptOf = new Map(SCRIPTS.map((f) => [readFileSync(new URL(f, LUA_DIR), "utf8"), f]))

/** Every TypeScript file of the shipped code, with its text. */
const sources = (dir: string): [string, string][] =>
  readdirSync(dir).flatMap((name): [string, string][] => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return path.endsWith(".ts") ? [[path, readFileSync(path, "utf8")]] : []
  })
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const SHIPPED = ["streams", "src", "bench"].flatMap((d) => sources(join(ROOT, d)))

interface Call { readonly script: string; readonly keys: readonly string[] }

/** A stand-in connection: records every script call's keys; answers as an idle Redis would. */
const recorder = () => {
  const calls: Call[] = []
  const defined = new Map<string, number>()
  const replies: Record<string, unknown> = {
    "apply-batch-12.lua": 1, "apply-batch-pending-10.lua": 1, "archive-mark-2.lua": 1, "redrive-2.lua": "1-0", "trim-guarded-3.lua": [0, ""],
    "lease-acquire-2.lua": [1, "1"], "lease-renew-1.lua": [1], "lease-release-1.lua": 1, "extend-claim-1.lua": ["ok", "c"],
    "route-copy-2.lua": [1, 0], "route-read-2.lua": [[], "0-0", []],
    "members-heartbeat-3.lua": [1, "host:1:abcd", "1", 1], "members-leave-3.lua": 1
  }
  const names = new Set<string>()
  const conn: Record<string, unknown> = {
    // The trim reads a mark kept in another slot before its script (streams/trim.ts).
    get: () => Promise.resolve("1-0"),
    defineCommand(name: string, def: { numberOfKeys: number; lua: string }) {
      const script = scriptOf.get(def.lua)
      if (script === undefined) throw new Error(`${name} runs a script that is not a file of streams/lua`)
      defined.set(script, def.numberOfKeys)
      names.add(name)
      conn[name] = (...args: unknown[]) => {
        calls.push({ script, keys: args.slice(0, def.numberOfKeys).map(String) })
        return Promise.resolve(replies[script])
      }
    }
  }
  return { redis: conn as unknown as Redis, calls, defined, names }
}

/**
 * Keys without the partition's tag that scripts take today: the ingress streams, which
 * are one stream for the whole install. The router of a partitioned install must give
 * these steps per-partition streams (or keep them out of the partition's script):
 * - the atomic step acknowledges the scores entry and writes scores dead letters;
 * - trimming the scores streams records the trim and checks the archive mark, both
 *   partition keys, in the same script as the global stream;
 * - re-driving a scores dead letter moves it between the two ingress streams.
 */
/** Scripts of the install rather than of one partition: all their keys share one slot of their own. */
const INSTALL_SCRIPTS = new Set(["members-heartbeat-3.lua", "members-leave-3.lua"])

const KNOWN_EXCEPTIONS: Readonly<Record<string, readonly string[]>> = {
  "apply-batch-12.lua": ["strata:scores", "strata:scores:dead"],
  "apply-batch-pending-10.lua": ["strata:scores", "strata:scores:dead"],
  "trim-guarded-3.lua": ["strata:scores", "strata:scores:dead"],
  "redrive-2.lua": ["strata:scores", "strata:scores:dead"]
}

/** Run every script through the engine's own call sites for partition `p`. */
const runAll = async (p: number) => {
  const rec = recorder()
  const keys = partitionKeys("strata", p, DEFAULT_PARTITIONS)
  const ingress = ingressKeys("strata")
  const holder = { owner: "host:1:abcd", epoch: "1" }
  const batch = { ids: ["1-0"], snaps: ["AAPL", "{}"], lifecycle: [], backfill: [], dead: [], stats: [], streamTime: 1, fence: { ...holder, step: "0" } }
  await applyBatch(rec.redis, ingress, keys, GROUPS.engine, batch)
  // The step before the applied-through marks, the bench's baseline.
  await applyBatchPending(rec.redis, ingress, keys, GROUPS.engine, batch)
  await advanceArchiveMark(rec.redis, keys, holder, "1-0")
  const lease = new PartitionLease(rec.redis, keys, 10_000, holder.owner)
  await lease.acquire()
  await lease.renew()
  await lease.release()
  await extendClaim(rec.redis, keys.backfill, GROUPS.workers, "worker-1", "1-0")
  // Trimming runs over every stream of the plan; the plan is partition 0's today.
  const plan = trimPlan(loadConfig({ env: {}, overrides: { archive: { enabled: true } } }))
  for (const target of plan.targets) await trimBelow(rec.redis, target, plan.record, "1-0")
  // Re-driving moves a dead letter back to its source stream (src/cli/dead-letters.ts).
  const pairs: Record<string, readonly [string, string]> = { scores: [ingress.scoresDead, ingress.scores], lifecycle: [keys.lifecycleDead, keys.lifecycle], backfill: [keys.backfillDead, keys.backfill] }
  for (const source of DEAD_LETTER_SOURCES) {
    const [dead, target] = pairs[source] ?? ["", ""]
    await redriveOnce(rec.redis, dead, target, "1-0", ["symbol", "AAPL"])
  }
  // Membership is the install's, not a partition's: its scripts keep to a slot of their own.
  await heartbeat(rec.redis, membershipKeys("strata"), holder.owner, 10_000, 3000)
  await leave(rec.redis, membershipKeys("strata"), holder.owner)
  // The ingress router: its copy into the partition, and its fenced read of the ingress stream.
  await copyToPartition(rec.redis, keys, holder.epoch, [{ id: "1-0", fields: ["symbol", "AAPL", "s", "1"] }])
  await readFenced(rec.redis, ingress, routerKeys("strata"), holder, GROUPS.router, holder.owner, 10, "new")
  return rec
}

/** The router's scripts that run in the ingress stream's slot: its lease and its fenced read. */
const runRouter = async () => {
  const rec = recorder()
  const holder = { owner: "host:1:abcd", epoch: "1" }
  const lease = new Lease(rec.redis, routerKeys("strata"), 10_000, holder.owner)
  await lease.acquire()
  await lease.renew()
  await lease.release()
  await readFenced(rec.redis, ingressKeys("strata"), routerKeys("strata"), holder, GROUPS.router, holder.owner, 10, "pending")
  return rec
}

describe("Lua scripts and Cluster slots", () => {
  it("runs or rules out every script in streams/lua, with as many keys as its name says", async () => {
    const { calls, defined } = await runAll(0)
    expect([...defined.keys()].sort()).toEqual(SCRIPTS)
    for (const [script, n] of defined) expect(`${script}: ${n} keys`).toBe(`${script}: ${script.match(/-(\d+)\.lua$/)?.[1]} keys`)
    const run = new Set(calls.map((c) => c.script))
    for (const script of SCRIPTS) expect(run.has(script) || defined.get(script) === 1, `${script} takes several keys and is never run here`).toBe(true)
  })

  it("knows every script the code defines, and finds no script run another way", async () => {
    const { names } = await runAll(0)
    for (const [path, text] of SHIPPED) {
      for (const m of text.matchAll(/defineCommand\(\s*["'`](\w+)/g)) expect(names.has(m[1] ?? ""), `${path} defines ${m[1]}, which this test does not run`).toBe(true)
      expect(/\.(eval|evalsha|script)\(/.exec(text)?.[0], `${path} runs a script that is not a defined command`).toBeUndefined()
    }
  })

  it("passes each membership script keys of one slot", async () => {
    const { calls } = await runAll(0)
    const install = calls.filter((c) => INSTALL_SCRIPTS.has(c.script))
    expect(new Set(install.map((c) => c.script))).toEqual(INSTALL_SCRIPTS)
    for (const c of install) expect(new Set(c.keys.map((k) => calculateSlot(k))).size, `${c.script} keys ${c.keys.join(" ")}`).toBe(1)
  })

  for (const p of [0, 1, 7, 23]) {
    it(`passes each script only keys of partition ${p}'s slot, or a known exception`, async () => {
      const { calls } = await runAll(p)
      // The trim plan is partition 0's today, whatever the partition.
      // The router's fenced read runs in the ingress stream's slot (checked below).
      const slotOf = (c: Call) =>
        c.script === "route-read-2.lua" ? calculateSlot("strata:scores")
          : calculateSlot(c.script === "trim-guarded-3.lua" ? "{0}" : `{${partitionTag(p, DEFAULT_PARTITIONS)}}`)
      for (const c of calls.filter((c) => !INSTALL_SCRIPTS.has(c.script))) {
        const foreign = c.keys.filter((k) => calculateSlot(k) !== slotOf(c))
        const unknown = foreign.filter((k) => !(KNOWN_EXCEPTIONS[c.script] ?? []).includes(k))
        expect(unknown, `${c.script} called with keys outside the partition's slot`).toEqual([])
      }
    })
  }

  it("passes the trim script keys of one slot for every stream of a partitioned install", async () => {
    const rec = recorder()
    const config = loadConfig({ env: {}, overrides: { partitions: DEFAULT_PARTITIONS, archive: { enabled: true } } })
    const plans = installTrimPlans(config)
    for (const plan of plans) for (const t of plan.targets) await trimBelow(rec.redis, t, recordOf(plan, t), "1-0")
    expect(rec.calls.length).toBe(plans.reduce((n, p) => n + p.targets.length, 0))
    for (const c of rec.calls) expect(new Set(c.keys.map((k) => calculateSlot(k))).size, `${c.script} keys ${c.keys.join(" ")}`).toBe(1)
  })

  it("passes the router's lease and read scripts only keys of the ingress stream's slot", async () => {
    const { calls } = await runRouter()
    expect(calls.length).toBe(4)
    for (const c of calls) expect(c.keys.filter((k) => calculateSlot(k) !== calculateSlot("strata:scores")), c.script).toEqual([])
  })
})
