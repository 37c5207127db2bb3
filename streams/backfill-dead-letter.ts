/**
 * Backfill dead letters (`<prefix>:{p}:backfill:dead`): the shared dead-letter layout of
 * streams/dead-letter.ts (reason, source_id, truncated at fixed positions) with the
 * worker's own fields `error` and `deliveries` after the header, then a bounded copy of
 * the original fields. Backfill keeps longer values than the scores path (a provider's
 * error is worth 2,000 characters), and every value passes through secrets.ts on the way
 * in. Pure. Does not write the stream.
 */
import { deadLetterFields as sharedFields, parseDeadLetter as sharedParse, type DeadLetterCaps } from "./dead-letter.ts"
import { fieldRecord } from "./entry.ts"
import { redact } from "../src/services/secrets.ts"

/** Longest value kept (characters) and most original characters kept per entry. */
export const MAX_VALUE = 2000
export const MAX_COPY = 64 * 1024
const CAPS: DeadLetterCaps = { maxValueLength: MAX_VALUE, maxPairs: 1024, maxCopyLength: MAX_COPY }

const EXTRA = ["error", "deliveries"] as const

export interface BackfillDeadLetter {
  readonly reason: string
  readonly sourceId: string
  readonly truncated: boolean
  readonly error: string
  readonly deliveries: number
  /** The copy of the original fields, as a record (a repeated name keeps its last value). */
  readonly original: Record<string, string>
}

export const deadLetterFields = (
  reason: string, sourceId: string, error: string, deliveries: number, original: readonly string[]
): string[] => {
  const fields = sharedFields(
    { id: sourceId, fields: original.map(redact) }, redact(reason), ["error", redact(error), "deliveries", String(deliveries)], CAPS
  )
  // A cut error is a cut dead letter too.
  if (error.length > MAX_VALUE) fields[5] = "1"
  return fields
}

/** Read an entry by position; undefined when its header is not the contract's. */
export const parseDeadLetter = (fields: readonly string[]): BackfillDeadLetter | undefined => {
  const d = sharedParse(fields, EXTRA)
  if (!d) return undefined
  return {
    reason: d.reason, sourceId: d.sourceId, truncated: d.truncated,
    error: d.extra["error"] ?? "", deliveries: Number(d.extra["deliveries"]), original: fieldRecord(d.original)
  }
}
