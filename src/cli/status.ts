/**
 * `strata status`: queues (scores and backfill streams: length, pending, consumers),
 * every engine-owned stream's figures (length, oldest entry age, archive lag, last trim,
 * dead letters dropped), backfill progress per command, and the latest dead letters. In a
 * partitioned install: the members, the router and every partition (engine/install-view.ts)
 * in place of partition 0's queues and streams, and every dead-letter stream. Read-only. Everything it
 * prints passes through secrets.ts: a stored error text (written before redaction
 * existed, or by another tool) never shows a configured secret value.
 */
import { PROGRESS_DDL, progressTotals, recentProgress } from "../backfill/progress.ts"
import { parseDeadLetter } from "../../streams/backfill-dead-letter.ts"
import { migrate } from "../services/postgres.ts"
import type { Redis } from "../services/redis.ts"
import { learnSecrets, redact } from "../services/secrets.ts"
import { fieldRecord } from "../../streams/entry.ts"
import { groupsOf as groupsOfStream, type GroupInfo } from "../../streams/consumer.ts"
import { readLatest } from "../../streams/stream-read.ts"
import { ingressKeys, installPartitionKeys, partitionKeys } from "../../streams/keys.ts"
import { installView } from "../engine/install-view.ts"
import { compareEntryIds } from "../domain/time.ts"
import { formatInstall } from "./install-figures.ts"
import type { Config } from "../../config/schema.ts"
import type { Sql } from "../services/postgres.ts"
import { allStreamFigures } from "../../streams/trim.ts"
import { trimPlan } from "../../streams/trim-plan.ts"
import { withConnections } from "./connect.ts"
import { formatStreamFigures } from "./stream-figures.ts"
import { configOrExit, oneShot } from "./shared.ts"

const groupsOf = async (redis: Redis, stream: string): Promise<GroupInfo[]> => {
  try {
    return await groupsOfStream(redis, stream)
  } catch (e) {
    // A stream nobody wrote yet has no groups; any other failure is reported.
    if (String((e as Error).message).includes("no such key")) return []
    throw e
  }
}

/** The latest backfill dead letters; one not in the shared header layout (older) is read by name. */
const deadLetters = async (redis: Redis, stream: string, count: number) =>
  (await readLatest(redis, stream, count)).map(({ id, fields }) => {
    const d = parseDeadLetter(fields)
    if (d) return { id, reason: d.reason, error: d.error, deliveries: String(d.deliveries), symbol: d.original["symbol"], layer: d.original["layer"] }
    const m = fieldRecord(fields)
    return { id, reason: m["reason"], error: m["error"], deliveries: m["deliveries"], symbol: m["symbol"], layer: m["layer"] }
  })

const deadLine = (d: Awaited<ReturnType<typeof deadLetters>>[number]): string =>
  `    ${d.id} ${d.symbol ?? "?"} L${d.layer ?? "?"} after ${d.deliveries ?? "?"} deliveries, ${d.reason ?? "?"}: ${d.error ?? ""}`

const progressLines = (totals: Awaited<ReturnType<typeof progressTotals>>, commands: Awaited<ReturnType<typeof recentProgress>>): string[] => [
  `backfill commands  ${Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`,
  ...commands.map((c) => `  ${c.command_id}  ${c.symbol} L${c.layer}${c.effective_layer !== null && c.effective_layer !== c.layer ? `→L${c.effective_layer}` : ""}  ${c.status}` +
    `  tasks ${c.done}/${c.planned}${c.skipped ? ` (+${c.skipped} skipped)` : ""}  fetched ${c.fetched}  written ${c.written}` +
    `  requests ${c.requests}  failed ${c.failed}${c.last_error && c.status !== "done" ? `  last error: ${c.last_error}` : ""}`)
]

/** A partitioned install: members, router, every partition, every dead-letter stream, progress. */
const partitionedStatus = async (redis: Redis, sql: Sql, config: Config, limit: number, json: boolean): Promise<string> => {
  const ingress = ingressKeys(config.redis.prefix)
  const parts = installPartitionKeys(config.redis.prefix, config.partitions)
  const deadKeys = [ingress.scoresDead, ...parts.flatMap((k) => [k.scoresDead, k.lifecycleDead, k.backfillDead])]
  const [install, deadStreams, latest, totals, commands] = await Promise.all([
    installView(redis, config),
    Promise.all(deadKeys.map(async (key) => ({ key, length: await redis.xlen(key) }))),
    Promise.all(parts.map((k) => deadLetters(redis, k.backfillDead, 5))),
    progressTotals(sql),
    recentProgress(sql, limit)
  ])
  // The five latest backfill dead letters of the install: entry IDs order them across partitions.
  const newest = latest.flat().sort((a, b) => compareEntryIds(b.id, a.id)).slice(0, 5)
  if (json) return JSON.stringify({ ...install, dead: { streams: deadStreams, latest: newest }, progress: { totals, commands } })
  const out = formatInstall(install, config.archive.enabled)
  const held = deadStreams.filter((d) => d.length > 0)
  out.push(`dead letters  ${held.length === 0 ? `none in ${deadStreams.length} streams` : ""}`.trimEnd(), ...held.map((d) => `  ${d.key}  ${d.length}`))
  out.push(...newest.map(deadLine))
  out.push(...progressLines(totals, commands))
  return out.join("\n")
}

export const statusCommand = oneShot("status", async (opts: { config?: string; json?: boolean; limit: string }): Promise<void> => {
  const config = configOrExit(opts.config)
  const limit = Math.max(1, Number(opts.limit) || 20)
  learnSecrets(process.env, [config.redis.url, config.postgres.url])
  await withConnections(config, async (conn) => {
    await migrate(conn.sql, config.postgres.schema, PROGRESS_DDL)
    if (config.partitions > 1) {
      process.stdout.write(`${redact(await partitionedStatus(conn.redis, conn.sql, config, limit, opts.json === true))}\n`)
      return
    }
    const ingress = ingressKeys(config.redis.prefix)
    const keys = partitionKeys(config.redis.prefix, 0)
    const streams = await Promise.all([ingress.scores, keys.lifecycle, keys.backfill].map(async (key) => ({
      key, length: await conn.redis.xlen(key), groups: await groupsOf(conn.redis, key)
    })))
    const dead = {
      scores: { key: ingress.scoresDead, length: await conn.redis.xlen(ingress.scoresDead) },
      lifecycle: { key: keys.lifecycleDead, length: await conn.redis.xlen(keys.lifecycleDead) },
      backfill: { key: keys.backfillDead, length: await conn.redis.xlen(keys.backfillDead), latest: await deadLetters(conn.redis, keys.backfillDead, 5) }
    }
    const streamFigures = await allStreamFigures(conn.redis, trimPlan(config))
    const totals = await progressTotals(conn.sql)
    const commands = await recentProgress(conn.sql, limit)
    if (opts.json) {
      process.stdout.write(`${redact(JSON.stringify({ streams, streamFigures, dead, progress: { totals, commands } }))}\n`)
      return
    }
    const out: string[] = ["queues"]
    for (const s of streams) {
      const groups = s.groups.map((g) => `${g.name}: ${g.pending} pending, lag ${g.lag ?? "?"}, ${g.consumers} consumers`).join("; ")
      out.push(`  ${s.key}  length ${s.length}${groups ? `  (${groups})` : ""}`)
    }
    out.push(...formatStreamFigures(streamFigures, config.archive.enabled))
    out.push(`dead letters`, `  ${dead.scores.key}  ${dead.scores.length}`, `  ${dead.lifecycle.key}  ${dead.lifecycle.length}`, `  ${dead.backfill.key}  ${dead.backfill.length}`)
    out.push(...dead.backfill.latest.map(deadLine))
    out.push(...progressLines(totals, commands))
    process.stdout.write(`${redact(out.join("\n"))}\n`)
  })
})
