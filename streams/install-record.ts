/**
 * The install record (keys.ts `installKey`): the partition count an install was made with
 * or moved to, and the mark of a move to another count that is under way. Every engine and
 * worker process checks it at start (`checkInstall`): a process configured for another
 * count would read and write the wrong partitions' keys, so it is refused with the fix.
 * The first process to start a new install records its count; an install made before the
 * record existed is recognised by its state (below) and recorded on its first start.
 * `installVerdict` is the decision alone (pure). Does not loop, sleep or log, and moves no
 * symbol (src/engine/partition-move.ts does).
 */
import type { Redis } from "ioredis"
import { groupsOf, type GroupInfo } from "./consumer.ts"
import { GROUPS, ingressKeys, installKey, partitionKeys } from "./keys.ts"

export interface InstallRecord {
  /** The install's partition count; undefined before anything recorded it. */
  readonly partitions: number | undefined
  /** The count a move (`strata partitions migrate`) is taking the install to, while it runs. */
  readonly migrating: number | undefined
}

/**
 * What an install without a record holds: nothing (`none`: a new install), the state of
 * one partition (`one`: partition 0's snapshots, lifecycle or stream time, or the engine's
 * group on the ingress stream, and no router group), or a router group on the ingress
 * stream (`partitioned`: made with a count above 1 before the record existed; its count
 * cannot be read back, so the configured one is recorded).
 */
export type UnrecordedState = "none" | "one" | "partitioned"

export type InstallVerdict =
  | { readonly ok: true; readonly record: number | undefined }
  | { readonly ok: false; readonly reason: string }

const count = (text: string | null | undefined): number | undefined => {
  if (text === null || text === undefined || text === "") return undefined
  const n = Number(text)
  return Number.isInteger(n) && n >= 1 ? n : undefined
}

const mismatch = (key: string, has: number, configured: number, why: string): string => {
  const fix = has === 1 && configured > 1
    ? `set partitions: 1, or stop every engine and move the install with \`strata partitions migrate --to ${configured}\``
    : `set partitions: ${has} (an install's count is fixed once it is above 1)`
  return `this install has ${has} partition${has === 1 ? "" : "s"} (${why}, ${key}) but partitions is ${configured}: ${fix}`
}

/**
 * May a process configured for `configured` partitions start on this install? When it
 * may and nothing is recorded yet, `record` is the count to record.
 */
export const installVerdict = (prefix: string, record: InstallRecord, unrecorded: UnrecordedState, configured: number): InstallVerdict => {
  const key = installKey(prefix)
  if (record.migrating !== undefined) {
    return {
      ok: false,
      reason: `a move of this install to ${record.migrating} partitions is under way (${key} migrating=${record.migrating}): ` +
        `run \`strata partitions migrate --to ${record.migrating}\` again to finish it, then start with partitions: ${record.migrating}`
    }
  }
  if (record.partitions !== undefined) {
    return record.partitions === configured ? { ok: true, record: undefined } : { ok: false, reason: mismatch(key, record.partitions, configured, "recorded") }
  }
  if (unrecorded === "one" && configured !== 1) {
    return { ok: false, reason: mismatch(key, 1, configured, "made before the install record: state under partition 0 and no router") }
  }
  return { ok: true, record: unrecorded === "one" ? 1 : configured }
}

export const readInstallRecord = async (redis: Redis, prefix: string): Promise<InstallRecord> => {
  const [partitions, migrating] = await redis.hmget(installKey(prefix), "partitions", "migrating")
  return { partitions: count(partitions), migrating: count(migrating) }
}

/** The consumer groups on a stream; none when the stream does not exist. */
export const streamGroups = async (redis: Redis, stream: string): Promise<GroupInfo[]> =>
  (await redis.exists(stream)) === 1 ? groupsOf(redis, stream) : []

export const unrecordedState = async (redis: Redis, prefix: string): Promise<UnrecordedState> => {
  const groups = (await streamGroups(redis, ingressKeys(prefix).scores)).map((g) => g.name)
  if (groups.includes(GROUPS.router)) return "partitioned"
  if (groups.includes(GROUPS.engine)) return "one"
  const keys = partitionKeys(prefix, 0)
  // One key at a time: on a Cluster a multi-key EXISTS must stay in one slot.
  for (const key of [keys.snapshots, keys.lifecycle, keys.streamTime]) {
    if ((await redis.exists(key)) === 1) return "one"
  }
  return "none"
}

/**
 * Check the install against the configured count, recording the count of an install that
 * has none (HSETNX: of two processes starting a new install with different counts, the
 * first one's count is recorded and the other is refused). Returns the refusal, if any.
 */
export const checkInstall = async (redis: Redis, prefix: string, configured: number): Promise<string | undefined> => {
  const record = await readInstallRecord(redis, prefix)
  const first = installVerdict(prefix, record, record.partitions === undefined ? await unrecordedState(redis, prefix) : "none", configured)
  if (!first.ok) return first.reason
  if (first.record === undefined) return undefined
  await redis.hsetnx(installKey(prefix), "partitions", String(first.record))
  const verdict = installVerdict(prefix, await readInstallRecord(redis, prefix), "none", configured)
  return verdict.ok ? undefined : verdict.reason
}

/** Mark a move to `to` partitions as under way (an install without a record is recorded as one partition first). */
export const markMigrating = async (redis: Redis, prefix: string, to: number): Promise<void> => {
  await redis.hsetnx(installKey(prefix), "partitions", "1")
  await redis.hset(installKey(prefix), "migrating", String(to))
}

/** The move is done: record the new count and clear the mark, in one transaction on the one key. */
export const finishMigrating = async (redis: Redis, prefix: string, to: number): Promise<void> => {
  const replies = await redis.multi().hset(installKey(prefix), "partitions", String(to)).hdel(installKey(prefix), "migrating").exec()
  const failed = replies?.find(([err]) => err !== null)
  if (replies === null || failed !== undefined) throw failed?.[0] ?? new Error(`the install record ${installKey(prefix)} was not written`)
}
