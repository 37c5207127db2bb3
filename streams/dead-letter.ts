/**
 * The one shape of every dead-letter entry (scores, lifecycle, backfill): the engine's
 * header at fixed positions, then a bounded copy of the rejected entry's fields.
 *
 *   reason <text>  source_id <entry id>  truncated <0|1>  [extra engine fields]  original fields…
 *
 * Readers parse the header by position, so an input field named `reason` or `source_id`
 * in the copy can never pass for the engine's. The copy is capped per value and per entry
 * (a dead letter must stay small enough for the atomic step to write it in one XADD, and
 * for an operator to read), with `truncated 1` when anything was cut.
 * Builds and parses field lists only: writing them is each stream's writer's job.
 */
import type { StreamEntry } from "./entry.ts"

export interface DeadLetterCaps {
  /** Characters kept of each copied name or value (and of the reason and extra fields). */
  readonly maxValueLength: number
  /** Field/value pairs of the original entry kept. */
  readonly maxPairs: number
  /** Characters of the original entry kept in all (names and values). */
  readonly maxCopyLength: number
}

export const DEAD_LETTER_CAPS: DeadLetterCaps = { maxValueLength: 1024, maxPairs: 64, maxCopyLength: 16_384 }

const HEADER = ["reason", "source_id", "truncated"] as const

/** At most `max` UTF-16 units, never ending inside a surrogate pair. */
const cut = (text: string, max: number): string => {
  if (text.length <= max) return text
  const end = max > 0 && /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max
  return text.slice(0, end)
}

/**
 * The dead letter of `source`, rejected for `reason`. `extra` are engine fields of the
 * writer's own (name, value, …; e.g. `error`, `deliveries`), placed after the header.
 */
export const deadLetterFields = (
  source: StreamEntry, reason: string, extra: readonly string[] = [], caps: DeadLetterCaps = DEAD_LETTER_CAPS
): string[] => {
  const copy: string[] = []
  let truncated = source.fields.length % 2 !== 0
  let budget = caps.maxCopyLength
  for (let i = 0; i + 1 < source.fields.length; i += 2) {
    if (copy.length >= 2 * caps.maxPairs || budget <= 0) {
      truncated = true
      break
    }
    const name = cut(source.fields[i] as string, Math.min(caps.maxValueLength, budget))
    budget -= name.length
    const value = cut(source.fields[i + 1] as string, Math.min(caps.maxValueLength, Math.max(budget, 0)))
    budget -= value.length
    if (name !== source.fields[i] || value !== source.fields[i + 1]) truncated = true
    copy.push(name, value)
  }
  const engine: string[] = []
  for (let i = 0; i + 1 < extra.length; i += 2) engine.push(extra[i] as string, cut(extra[i + 1] as string, caps.maxValueLength))
  return [
    "reason", cut(reason, caps.maxValueLength),
    "source_id", source.id,
    "truncated", truncated ? "1" : "0",
    ...engine,
    ...copy
  ]
}

export interface DeadLetter {
  readonly reason: string
  readonly sourceId: string
  readonly truncated: boolean
  /** The writer's extra engine fields, by the names the reader asked for. */
  readonly extra: Readonly<Record<string, string>>
  /** The (possibly truncated) copy of the rejected entry's fields. */
  readonly original: readonly string[]
}

/**
 * Parse a dead letter by position. `extraNames` are the writer's extra engine fields, in
 * the order it writes them. Undefined when the header is not where the contract puts it.
 */
export const parseDeadLetter = (fields: readonly string[], extraNames: readonly string[] = []): DeadLetter | undefined => {
  const names = [...HEADER, ...extraNames]
  if (fields.length < 2 * names.length) return undefined
  for (const [i, name] of names.entries()) if (fields[2 * i] !== name) return undefined
  const truncated = fields[5]
  if (truncated !== "0" && truncated !== "1") return undefined
  const extra: Record<string, string> = {}
  for (const [i, name] of extraNames.entries()) extra[name] = fields[2 * (HEADER.length + i) + 1] as string
  return {
    reason: fields[1] as string,
    sourceId: fields[3] as string,
    truncated: truncated === "1",
    extra,
    original: fields.slice(2 * names.length)
  }
}
