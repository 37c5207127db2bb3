/**
 * Dead letters as an operator finds them stored, whichever stream and layout: the one
 * reader the `dead-letters` commands use, and the one re-drive of a dead letter to the
 * stream it came from (lua/redrive-2.lua: check, XADD, XDEL in one step, so a repeated or
 * concurrent retry of the same ID does nothing).
 * Reads the contract's layout through dead-letter.ts and two older layouts still found
 * in installs: scores `reason, source_id, <original>` and backfill
 * `<original>, error, deliveries, source_id`.
 * Does not decide whether a dead letter should be re-driven: the caller does.
 */
import { readFileSync } from "node:fs"
import type { Redis } from "ioredis"
import { parseDeadLetter } from "./dead-letter.ts"

/** The dead-letter streams by the name `--source` takes. */
export const DEAD_LETTER_SOURCES = ["scores", "lifecycle", "backfill"] as const
export type DeadLetterSource = (typeof DEAD_LETTER_SOURCES)[number]

/** Engine fields a writer may put after the header, by source, in the order written. */
const EXTRA_FIELDS: Record<DeadLetterSource, readonly string[]> = { scores: [], lifecycle: ["error", "deliveries"], backfill: ["error", "deliveries"] }

export interface StoredDeadLetter {
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
 * The contract puts the header at fixed positions (`reason, source_id, truncated`, the
 * writer's extra fields, then the copy), so a copied field named `reason` can never pass
 * for the engine's. Undefined when no layout this version reads fits.
 */
export const parseStoredDeadLetter = (fields: readonly string[], source: DeadLetterSource): StoredDeadLetter | undefined => {
  const at = (i: number) => fields[i] as string
  if (at(0) === "reason" && at(2) === "source_id" && fields.length >= 4) {
    // The contract's layout: the one parser of dead-letter.ts, with the writer's extras if present.
    const d = parseDeadLetter(fields, EXTRA_FIELDS[source]) ?? parseDeadLetter(fields)
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

const REDRIVE = readFileSync(new URL("./lua/redrive-2.lua", import.meta.url), "utf8")

type WithRedrive = Redis & { strataRedrive(dead: string, target: string, id: string, ...fields: string[]): Promise<string | null> }

/** Append `original` to `target` and delete dead letter `id` of `dead`, once; null when it is gone. */
export const redriveOnce = async (redis: Redis, dead: string, target: string, id: string, original: readonly string[]): Promise<string | null> => {
  if (!("strataRedrive" in redis)) redis.defineCommand("strataRedrive", { numberOfKeys: 2, lua: REDRIVE })
  return (redis as WithRedrive).strataRedrive(dead, target, id, ...original)
}
