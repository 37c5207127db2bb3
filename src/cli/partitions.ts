/**
 * `strata partitions show`, `strata partitions migrate --to N` and `strata partition
 * SYMBOL`: the install's recorded partition count and what each partition holds, the move
 * of an install of one partition to N (src/engine/partition-move.ts, engines stopped), and
 * which partition a symbol belongs to and the streams its scores go to (router-filled and direct). Redis only; none of them starts an engine.
 */
import { isValidSymbol, normaliseSymbol } from "../domain/symbols.ts"
import { movePartitions, MoveRefused } from "../engine/partition-move.ts"
import { readInstallRecord, unrecordedState } from "../../streams/install-record.ts"
import { installKey, membershipKeys, partitionKeys, partitionScores } from "../../streams/keys.ts"
import { assertPartitionCount, symbolPartition } from "../../streams/partition.ts"
import { partitionTag } from "../../streams/partition-tags.ts"
import { withRedis } from "./connect.ts"
import { configOrExit, oneShot } from "./shared.ts"

interface Opts { config?: string; json?: boolean }

export const partitionsShowCommand = oneShot("partitions show", async (opts: Opts): Promise<void> => {
  const config = configOrExit(opts.config)
  await withRedis(config, "strata-partitions", async (redis) => {
    const prefix = config.redis.prefix
    const record = await readInstallRecord(redis, prefix)
    const unrecorded = record.partitions === undefined ? await unrecordedState(redis, prefix) : undefined
    const count = record.partitions ?? (unrecorded === "one" ? 1 : config.partitions)
    const partitions = []
    for (let p = 0; p < count; p++) {
      const keys = partitionKeys(prefix, p, count)
      partitions.push({
        partition: p, tag: partitionTag(p, count), symbols: await redis.hlen(keys.snapshots),
        owner: await redis.hget(keys.lease, "owner"), scores: partitionScores(prefix, keys).scores
      })
    }
    const members = await redis.zrange(membershipKeys(prefix).members, "0", "-1")
    const report = { record: installKey(prefix), recorded: record.partitions ?? null, migrating: record.migrating ?? null,
      unrecorded: unrecorded ?? null, configured: config.partitions, partitions, members }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`)
      return
    }
    const out = [
      `install record ${report.record}: ${record.partitions === undefined ? `none (${unrecorded === "one" ? "one partition's state: counts as 1" : unrecorded === "partitioned" ? "routed already, count not recorded" : "a new install"})` : `${record.partitions} partition(s)`}`,
      `configured partitions: ${config.partitions}${config.partitions === count ? "" : `  (differs: engines refuse to start)`}`
    ]
    if (record.migrating !== undefined) out.push(`a move to ${record.migrating} partitions is under way: run \`strata partitions migrate --to ${record.migrating}\` to finish it`)
    for (const p of partitions) out.push(`  partition ${p.partition}  {${p.tag}}  ${p.symbols} symbol(s)  ${p.owner === null ? "no owner" : `held by ${p.owner}`}  reads ${p.scores}`)
    out.push(`members: ${members.length === 0 ? "none" : members.join(", ")}`)
    process.stdout.write(`${out.join("\n")}\n`)
  })
})

export const partitionsMigrateCommand = oneShot("partitions migrate", async (opts: Opts & { to: string }): Promise<void> => {
  const config = configOrExit(opts.config)
  const to = assertPartitionCount(Number(opts.to))
  await withRedis(config, "strata-partitions-migrate", async (redis) => {
    try {
      const r = await movePartitions(redis, config.redis.prefix, to)
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`)
        return
      }
      if (r.alreadyDone) {
        process.stdout.write(`the install has ${to} partitions already: nothing to do\n`)
        return
      }
      const moved = r.snapshots.reduce((a, b) => a + b, 0)
      process.stdout.write([
        `moved the install to ${to} partitions${r.resumed ? " (finishing an earlier run)" : ""}`,
        `  snapshots moved: ${moved} (${r.snapshots.map((n, p) => `${p}: ${n}`).filter((_, p) => p > 0).join(", ")})`,
        `  unread backfill commands moved: ${r.backfill}`,
        `  the router starts after ingress entry ${r.routerFrom ?? "0-0 (the engine never read)"}`,
        `  set partitions: ${to} in every engine's configuration, then start the engines`
      ].join("\n") + "\n")
    } catch (e) {
      if (!(e instanceof MoveRefused)) throw e
      process.stderr.write(`strata partitions migrate: refused: ${e.message}\n`)
      process.exitCode = 1
    }
  })
})

export const partitionCommand = oneShot("partition", async (raw: string, opts: Opts & { count?: string }): Promise<void> => {
  const config = configOrExit(opts.config)
  const symbol = normaliseSymbol(raw)
  if (!isValidSymbol(symbol)) throw new Error(`invalid symbol "${raw}"`)
  const show = (count: number) => {
    const p = symbolPartition(symbol, count)
    const keys = partitionKeys(config.redis.prefix, p, count)
    // `direct`: the stream a producer may XADD this symbol's scores to, bypassing the router
    // (an install of one partition has none: its engine reads the ingress stream itself).
    const report = { symbol, count, partition: p, tag: partitionTag(p, count), snapshots: keys.snapshots,
      scores: partitionScores(config.redis.prefix, keys).scores, direct: count === 1 ? null : keys.scoresDirect }
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n`
      : `${symbol}: partition ${p} of ${count}  {${report.tag}}  snapshots ${report.snapshots}  scores ${report.scores}  ` +
        `direct ${report.direct ?? "none (one partition: write the ingress stream)"}\n`)
  }
  if (opts.count !== undefined) return show(assertPartitionCount(Number(opts.count)))
  await withRedis(config, "strata-partition", async (redis) => {
    const record = await readInstallRecord(redis, config.redis.prefix)
    show(record.partitions ?? config.partitions)
  })
})
