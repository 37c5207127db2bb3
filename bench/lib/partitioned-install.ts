/**
 * Watching a partitioned install from the outside, for the bench: who holds each
 * partition's lease (read from the lease hashes, streams/keys.ts), which process that is
 * (owner ids are host:pid:random, streams/lease.ts), how far each partition's atomic steps
 * are (its step marker) and how many scores entries the install applied (the partitions'
 * stats). Also engine children started on one namespace, and a poll that waits for a state.
 * Does not start servers nor decide what to measure.
 */
import { join } from "node:path"
import type { Redis } from "ioredis"
import { membershipKeys, partitionKeys } from "../../streams/keys.ts"
import { assignPartitions } from "../../src/engine/rendezvous.ts"
import type { BenchNamespace } from "./bench-namespace.ts"
import { ROOT, startChild, type Child } from "./children.ts"

/** The pid of an owner id (host:pid:random), or undefined for an id of another form. */
export const pidOfOwner = (owner: string): number | undefined => {
  const parts = owner.split(":")
  const pid = Number(parts[parts.length - 2])
  return parts.length >= 3 && Number.isInteger(pid) && pid > 0 ? pid : undefined
}

export interface PartitionView {
  /** The pid of each partition's lease holder, undefined when nobody holds it. */
  readonly holders: readonly (number | undefined)[]
  /** Each partition's step marker (atomic steps applied under any lease). */
  readonly steps: readonly number[]
}

/**
 * Every partition's holder and step marker, all asked at once: one command a key, as a
 * Cluster serves no pipeline whose keys span slots and each partition has its own.
 */
export const partitionView = async (redis: Redis, prefix: string, count: number): Promise<PartitionView> => {
  const rows = await Promise.all(Array.from({ length: count }, (_, i) => {
    const keys = partitionKeys(prefix, i, count)
    return Promise.all([redis.hget(keys.lease, "owner"), redis.get(keys.step)])
  }))
  return {
    holders: rows.map(([owner]) => (typeof owner === "string" ? pidOfOwner(owner) : undefined)),
    steps: rows.map(([, step]) => Number(step ?? 0))
  }
}

/** The partitions `pid` holds in `view`. */
export const heldBy = (view: PartitionView, pid: number): number[] =>
  view.holders.flatMap((h, p) => (h === pid ? [p] : []))

/** Scores entries the install's partitions have read into atomic steps (their stats' `entries`). */
export const appliedEntries = async (redis: Redis, prefix: string, count: number): Promise<number> => {
  const values = await Promise.all(Array.from({ length: count }, (_, i) => redis.hget(partitionKeys(prefix, i, count).stats, "entries")))
  return values.reduce((n, v) => n + Number(v ?? 0), 0)
}

/** Poll `check` every `everyMs` until it holds; the time it first held (performance.now()). */
export const pollUntil = async (what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<number> => {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await check()) return performance.now()
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/**
 * The holder each partition should have once every live member of `pids` counts: the
 * rendezvous plan (src/engine/rendezvous.ts) over their owner ids, as pids. Undefined
 * while some pid is not a member yet. The plan may give a member nothing (two members and
 * six partitions: all six to one in 1 of 32 installs, owner ids being random).
 */
const plannedHolders = async (redis: Redis, prefix: string, count: number, pids: ReadonlySet<number>): Promise<(number | undefined)[] | undefined> => {
  const members = (await redis.zrange(membershipKeys(prefix).members, "0", "-1")).filter((m) => pids.has(pidOfOwner(m) ?? -1))
  if (members.length !== pids.size) return undefined
  return assignPartitions(members, count).map(pidOfOwner)
}

/**
 * Until every partition is held by the one of `pids` the plan names, and the holders have
 * not changed for a heartbeat and a half (`tickMs`: a third of the lease TTL): the
 * install has settled on its plan.
 */
export const settleInstall = async (
  redis: Redis, prefix: string, count: number, pids: ReadonlySet<number>, tickMs: number, what: string
): Promise<void> => {
  let last = ""
  let since = performance.now()
  await pollUntil(what, async () => {
    const v = await partitionView(redis, prefix, count)
    const key = v.holders.join(",")
    const planned = await plannedHolders(redis, prefix, count, pids)
    const ok = planned !== undefined && v.holders.every((h, p) => h !== undefined && h === planned[p])
    if (!ok || key !== last) {
      last = key
      since = performance.now()
      return false
    }
    return performance.now() - since >= 1.5 * tickMs
  }, 300_000, 50)
}

/** A `strata engine` child on the namespace, its log in the scratch folder, awaited until it runs. */
export const startEngine = async (ns: BenchNamespace, tmpDir: string, name: string): Promise<Child> => {
  const child = startChild(join(ROOT, "src/cli/main.ts"), ["engine"], ns.env, join(tmpDir, `${ns.prefix}-${name}.log`))
  await child.ready(/engine running/)
  return child
}

/** Kill -9 by pid and wait for the exit. */
export const killHard = async (child: Child): Promise<void> => {
  const exit = new Promise<void>((resolve) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) resolve()
    else child.process.once("exit", () => resolve())
  })
  process.kill(child.pid, "SIGKILL")
  await exit
}
