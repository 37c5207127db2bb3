/**
 * `strata dead-letters list|show|retry|purge`: the scores, lifecycle and backfill
 * dead-letter streams for an operator. `retry` re-drives an entry to the stream it came
 * from, exactly once: one Lua script checks the dead letter is still there, XADDs its
 * original fields to the source stream and XDELs it, so a repeated or concurrent retry of
 * the same ID does nothing. A truncated copy is never re-driven. `purge` asks on a
 * terminal and needs --yes otherwise.
 * Does not fix anything: the entry goes back as it was sent.
 */
import { createInterface } from "node:readline/promises"
import type { Config } from "../../config/schema.ts"
import type { Redis } from "../services/redis.ts"
import { ingressKeys, partitionKeys } from "../../streams/keys.ts"
import { withConnections } from "./connect.ts"
import { configOrExit } from "./shared.ts"

import { parseDeadLetter as parseShared } from "../../streams/dead-letter.ts"
import { SOURCES, type Source } from "./dead-letter-sources.ts"

export { SOURCES, type Source }

/** Engine fields a writer may put after the header, by source, in the order written. */
const EXTRA_FIELDS: Record<Source, readonly string[]> = { scores: [], lifecycle: ["error", "deliveries"], backfill: ["error", "deliveries"] }

export interface ParsedDeadLetter {
  readonly reason: string
  readonly sourceId: string
  readonly truncated: boolean
  /** The writer's own fields (error, deliveries, …). */
  readonly extra: Readonly<Record<string, string>>
  /** The copy of the rejected entry's fields, name, value, … */
  readonly original: readonly string[]
  /** Which layout the entry was written in. */
  readonly layout: "header" | "scores-legacy" | "backfill-legacy"
}

/**
 * The one reader of a dead letter's fields. The contract puts the header at fixed
 * positions (`reason, source_id, truncated`, the writer's extra fields, then the copy), so
 * a copied field named `reason` can never pass for the engine's. Two older layouts are
 * still read: scores `reason, source_id, <original>` and backfill
 * `<original>, error, deliveries, source_id`. Undefined when none fits.
 */
export const parseDeadLetter = (fields: readonly string[], source: Source): ParsedDeadLetter | undefined => {
  const at = (i: number) => fields[i] as string
  if (at(0) === "reason" && at(2) === "source_id" && fields.length >= 4) {
    // The contract's layout: the one parser of streams/dead-letter.ts, with the writer's extras if present.
    const d = parseShared(fields, EXTRA_FIELDS[source]) ?? parseShared(fields)
    if (d) return { ...d, truncated: d.truncated || d.original.length % 2 !== 0, layout: "header" }
    if (source === "scores") {
      const original = fields.slice(4)
      return { reason: at(1), sourceId: at(3), truncated: original.length % 2 !== 0, extra: {}, original, layout: "scores-legacy" }
    }
  }
  const n = fields.length
  if (source === "backfill" && n >= 6 && n % 2 === 0 && at(n - 6) === "error" && at(n - 4) === "deliveries" && at(n - 2) === "source_id") {
    return {
      reason: "given up after repeated failures", sourceId: at(n - 1), truncated: false,
      extra: { error: at(n - 5), deliveries: at(n - 3) }, original: fields.slice(0, n - 6), layout: "backfill-legacy"
    }
  }
  return undefined
}

interface Streams { readonly dead: string; readonly target: string }

const streamsOf = (config: Config, source: Source): Streams => {
  const ingress = ingressKeys(config.redis.prefix)
  const keys = partitionKeys(config.redis.prefix, 0)
  switch (source) {
    case "scores": return { dead: ingress.scoresDead, target: ingress.scores }
    case "lifecycle": return { dead: keys.lifecycleDead, target: keys.lifecycle }
    case "backfill": return { dead: keys.backfillDead, target: keys.backfill }
  }
}

// KEYS[1] dead-letter stream, KEYS[2] source stream; ARGV[1] dead-letter ID, ARGV[2..] fields.
// Nil when the dead letter is gone (already retried or purged): nothing is added.
const REDRIVE = `
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return false end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], ARGV[1])
return id`

export type RedriveResult =
  | { readonly status: "retried"; readonly newId: string }
  | { readonly status: "gone" }
  | { readonly status: "refused"; readonly why: string }

/** Re-drive one dead letter to its source stream, at most once. */
export const redrive = async (redis: Redis, streams: Streams, source: Source, id: string): Promise<RedriveResult> => {
  const [entry] = await redis.xrange(streams.dead, id, id)
  if (!entry) return { status: "gone" }
  const parsed = parseDeadLetter(entry[1], source)
  if (!parsed) return { status: "refused", why: "its fields are in no dead-letter layout this version reads" }
  if (parsed.truncated) return { status: "refused", why: "its copy of the original entry was truncated; re-send the entry from its producer" }
  if (parsed.original.length === 0) return { status: "refused", why: "it holds no original fields" }
  const newId = (await redis.eval(REDRIVE, 2, streams.dead, streams.target, id, ...parsed.original)) as string | null
  return newId === null ? { status: "gone" } : { status: "retried", newId }
}

interface Row { readonly source: Source; readonly stream: string; readonly id: string; readonly fields: readonly string[]; readonly parsed: ParsedDeadLetter | undefined }

const rowsOf = async (redis: Redis, config: Config, sources: readonly Source[], limit: number): Promise<Row[]> => {
  const out: Row[] = []
  for (const source of sources) {
    const { dead } = streamsOf(config, source)
    for (const [id, fields] of await redis.xrevrange(dead, "+", "-", "COUNT", limit)) {
      out.push({ source, stream: dead, id, fields, parsed: parseDeadLetter(fields, source) })
    }
  }
  return out
}

const findRow = async (redis: Redis, config: Config, sources: readonly Source[], id: string): Promise<Row | undefined> => {
  for (const source of sources) {
    const { dead } = streamsOf(config, source)
    const [entry] = await redis.xrange(dead, id, id)
    if (entry) return { source, stream: dead, id, fields: entry[1], parsed: parseDeadLetter(entry[1], source) }
  }
  return undefined
}

const pairs = (flat: readonly string[]): Record<string, string> => {
  const o: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1] as string
  return o
}

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
  const lengths = Object.fromEntries(await Promise.all(selected(opts).map(async (s) => [s, await redis.xlen(streamsOf(config, s).dead)] as const)))
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ lengths, entries: rows.map(asJson) })}\n`)
    return
  }
  const out = selected(opts).map((s) => `${streamsOf(config, s).dead}  ${lengths[s]} entries`)
  for (const r of rows) out.push(`  ${oneLine(r)}`)
  process.stdout.write(`${out.join("\n")}\n`)
})

export const deadLettersShowCommand = (id: string, opts: DeadLetterOptions): Promise<void> => withRedis(opts, async (redis, config) => {
  const row = await findRow(redis, config, selected(opts), id)
  if (!row) {
    process.stderr.write(`strata: no dead letter ${id} in ${selected(opts).map((s) => streamsOf(config, s).dead).join(", ")}\n`)
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
    const source = row?.source ?? opts.source ?? "scores"
    const streams = streamsOf(config, source)
    const r = row ? await redrive(redis, streams, source, id) : { status: "gone" as const }
    results.push({ id, source: row?.source ?? null, ...r, ...(r.status === "retried" ? { stream: streams.target } : {}) })
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
  const streams = selected(opts).map((s) => streamsOf(config, s).dead)
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
