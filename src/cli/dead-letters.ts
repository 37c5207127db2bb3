/**
 * `strata dead-letters list|show|retry|purge`: the scores, lifecycle and backfill
 * dead-letter streams for an operator. `retry` re-drives an entry to the stream it came
 * from, exactly once: one Lua script checks the dead letter is still there, XADDs its
 * original fields to the source stream and XDELs it, so a repeated or concurrent retry of
 * the same ID does nothing. A truncated copy is never re-driven. `purge` asks on a
 * terminal and needs --yes otherwise. A partitioned install has every partition's
 * dead-letter streams beside the ingress one: each command covers all of them.
 * Does not fix anything: the entry goes back as it was sent.
 */
import { createInterface } from "node:readline/promises"
import type { Config } from "../../config/schema.ts"
import type { Redis } from "../services/redis.ts"
import { ingressKeys, installPartitionKeys, partitionKeys } from "../../streams/keys.ts"
import { withConnections } from "./connect.ts"
import { configOrExit } from "./shared.ts"
import { readEntry, readLatest } from "../../streams/stream-read.ts"
import { fieldRecord } from "../../streams/entry.ts"
import { parseStoredDeadLetter, redriveOnce, type StoredDeadLetter } from "../../streams/stored-dead-letter.ts"
import { SOURCES, type Source } from "./dead-letter-sources.ts"

export { SOURCES, type Source }

interface Streams { readonly dead: string; readonly target: string }

/**
 * The dead-letter streams of a source, each with the stream its entries go back to. A
 * partition's scores dead letters go back to the ingress stream, never to the partition's
 * own: the router copies there under the ingress IDs and skips every ID at or below the
 * stream's last, so an entry added there by anyone else could hide an entry still to be routed.
 */
const streamsOf = (config: Config, source: Source): Streams[] => {
  const ingress = ingressKeys(config.redis.prefix)
  const parts = config.partitions === 1 ? [partitionKeys(config.redis.prefix, 0)] : installPartitionKeys(config.redis.prefix, config.partitions)
  switch (source) {
    case "scores": return [
      { dead: ingress.scoresDead, target: ingress.scores },
      ...(config.partitions === 1 ? [] : parts.map((k) => ({ dead: k.scoresDead, target: ingress.scores })))
    ]
    case "lifecycle": return parts.map((k) => ({ dead: k.lifecycleDead, target: k.lifecycle }))
    case "backfill": return parts.map((k) => ({ dead: k.backfillDead, target: k.backfill }))
  }
}

const deadStreams = (config: Config, sources: readonly Source[]): string[] => sources.flatMap((s) => streamsOf(config, s).map((x) => x.dead))

export type RedriveResult =
  | { readonly status: "retried"; readonly newId: string }
  | { readonly status: "gone" }
  | { readonly status: "refused"; readonly why: string }

/** Re-drive one dead letter to its source stream, at most once. */
export const redrive = async (redis: Redis, streams: Streams, source: Source, id: string): Promise<RedriveResult> => {
  const entry = await readEntry(redis, streams.dead, id)
  if (!entry) return { status: "gone" }
  const parsed = parseStoredDeadLetter(entry.fields, source)
  if (!parsed) return { status: "refused", why: "its fields are in no dead-letter layout this version reads" }
  if (parsed.truncated) return { status: "refused", why: "its copy of the original entry was truncated; re-send the entry from its producer" }
  if (parsed.original.length === 0) return { status: "refused", why: "it holds no original fields" }
  const newId = await redriveOnce(redis, streams.dead, streams.target, id, parsed.original)
  return newId === null ? { status: "gone" } : { status: "retried", newId }
}

interface Row { readonly source: Source; readonly streams: Streams; readonly stream: string; readonly id: string; readonly fields: readonly string[]; readonly parsed: StoredDeadLetter | undefined }

const rowsOf = async (redis: Redis, config: Config, sources: readonly Source[], limit: number): Promise<Row[]> => {
  const out: Row[] = []
  for (const source of sources) {
    for (const streams of streamsOf(config, source)) {
      for (const { id, fields } of await readLatest(redis, streams.dead, limit)) {
        out.push({ source, streams, stream: streams.dead, id, fields, parsed: parseStoredDeadLetter(fields, source) })
      }
    }
  }
  return out
}

const findRow = async (redis: Redis, config: Config, sources: readonly Source[], id: string): Promise<Row | undefined> => {
  for (const source of sources) {
    for (const streams of streamsOf(config, source)) {
      const entry = await readEntry(redis, streams.dead, id)
      if (entry) return { source, streams, stream: streams.dead, id, fields: entry.fields, parsed: parseStoredDeadLetter(entry.fields, source) }
    }
  }
  return undefined
}

const pairs = fieldRecord

const asJson = (r: Row) => r.parsed
  ? { source: r.source, stream: r.stream, id: r.id, reason: r.parsed.reason, source_id: r.parsed.sourceId, truncated: r.parsed.truncated, ...r.parsed.extra, layout: r.parsed.layout, fields: pairs(r.parsed.original) }
  : { source: r.source, stream: r.stream, id: r.id, layout: "unknown", raw: r.fields }

const oneLine = (r: Row): string => {
  if (!r.parsed) return `${r.source}  ${r.id}  (unreadable layout)`
  const f = pairs(r.parsed.original)
  const what = f["symbol"] ?? f["command_id"] ?? ""
  const err = r.parsed.extra["error"] ? `  error: ${r.parsed.extra["error"].split("\n")[0]}` : ""
  return `${r.source}  ${r.id}  ${what || "-"}  ${r.parsed.reason}${r.parsed.truncated ? "  [truncated]" : ""}  from ${r.parsed.sourceId}${err}`
}

export interface DeadLetterOptions { readonly config?: string; readonly source?: Source; readonly json?: boolean; readonly limit?: string; readonly yes?: boolean }

const selected = (opts: DeadLetterOptions): readonly Source[] => (opts.source ? [opts.source] : SOURCES)

const withRedis = async (opts: DeadLetterOptions, run: (redis: Redis, config: Config) => Promise<void>): Promise<void> => {
  const config = configOrExit(opts.config)
  await withConnections(config, (conn) => run(conn.redis, config))
}

export const deadLettersListCommand = (opts: DeadLetterOptions): Promise<void> => withRedis(opts, async (redis, config) => {
  const limit = Math.max(1, Number(opts.limit) || 20)
  const rows = await rowsOf(redis, config, selected(opts), limit)
  const perStream = await Promise.all(selected(opts).flatMap((s) => streamsOf(config, s).map(async (x) => ({ source: s, stream: x.dead, length: await redis.xlen(x.dead) }))))
  // Per source, the sum over its streams (one stream each in an install of one partition).
  const lengths = Object.fromEntries(selected(opts).map((s) => [s, perStream.filter((x) => x.source === s).reduce((n, x) => n + x.length, 0)] as const))
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ lengths, ...(config.partitions === 1 ? {} : { streams: perStream }), entries: rows.map(asJson) })}\n`)
    return
  }
  const out = perStream.map((x) => `${x.stream}  ${x.length} entries`)
  for (const r of rows) out.push(`  ${oneLine(r)}`)
  process.stdout.write(`${out.join("\n")}\n`)
})

export const deadLettersShowCommand = (id: string, opts: DeadLetterOptions): Promise<void> => withRedis(opts, async (redis, config) => {
  const row = await findRow(redis, config, selected(opts), id)
  if (!row) {
    process.stderr.write(`strata: no dead letter ${id} in ${deadStreams(config, selected(opts)).join(", ")}\n`)
    process.exitCode = 1
    return
  }
  const j = asJson(row)
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(j)}\n`)
    return
  }
  const lines = Object.entries(j).filter(([k]) => k !== "fields" && k !== "raw").map(([k, v]) => `${k}: ${String(v)}`)
  lines.push("fields:", ...Object.entries("fields" in j ? j.fields : pairs(row.fields)).map(([k, v]) => `  ${k} = ${v}`))
  process.stdout.write(`${lines.join("\n")}\n`)
})

export const deadLettersRetryCommand = (ids: readonly string[], opts: DeadLetterOptions): Promise<void> => withRedis(opts, async (redis, config) => {
  const results: Record<string, unknown>[] = []
  for (const id of ids) {
    const row = await findRow(redis, config, selected(opts), id)
    const r = row ? await redrive(redis, row.streams, row.source, id) : { status: "gone" as const }
    results.push({ id, source: row?.source ?? null, ...r, ...(r.status === "retried" && row ? { stream: row.streams.target } : {}) })
    if (r.status === "refused") process.exitCode = 1
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ results })}\n`)
    return
  }
  const say = (r: Record<string, unknown>) => r["status"] === "retried" ? `${r["id"]}: re-driven to ${r["stream"]} as ${r["newId"]}`
    : r["status"] === "gone" ? `${r["id"]}: not in a dead-letter stream (already retried or purged): nothing done`
      : `${r["id"]}: not retried: ${r["why"]}`
  process.stdout.write(`${results.map(say).join("\n")}\n`)
})

const confirm = async (question: string): Promise<boolean> => {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim())
  } finally {
    rl.close()
  }
}

export const deadLettersPurgeCommand = (ids: readonly string[], opts: DeadLetterOptions): Promise<void> => withRedis(opts, async (redis, config) => {
  const streams = deadStreams(config, selected(opts))
  const what = ids.length > 0 ? `${ids.length} dead letter(s) from ${streams.join(", ")}` : `every entry of ${streams.join(", ")}`
  if (!opts.yes) {
    if (!process.stdin.isTTY) {
      process.stderr.write(`strata: purge deletes ${what}; pass --yes to confirm\n`)
      process.exitCode = 2
      return
    }
    if (!(await confirm(`Delete ${what}?`))) {
      process.stderr.write("nothing deleted\n")
      return
    }
  }
  let deleted = 0
  for (const stream of streams) {
    if (ids.length > 0) deleted += await redis.xdel(stream, ...ids)
    else {
      const replies = await redis.multi().xlen(stream).del(stream).exec()
      deleted += Number(replies?.[0]?.[1] ?? 0)
    }
  }
  process.stdout.write(opts.json ? `${JSON.stringify({ deleted })}\n` : `deleted ${deleted} dead letter(s)\n`)
})
