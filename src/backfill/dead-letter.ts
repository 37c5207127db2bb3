/**
 * Backfill dead-letter entries (`<prefix>:{p}:backfill:dead`), built and read by the
 * shared dead-letter contract: the engine's header first at fixed positions — reason,
 * source_id, truncated — then the worker's own fields error and deliveries, then a
 * bounded copy of the original fields as sent. Readers take the header positionally, so
 * an input field named `reason`, `error` or `source_id` cannot pose as the engine's.
 * Every value passes through secrets.ts on the way in. Pure. Does not write the stream.
 */
import { redact } from "../services/secrets.ts"

/** Longest value kept (characters) and most original characters kept per entry. */
export const MAX_VALUE = 2000
export const MAX_COPY = 64 * 1024

/** Header positions: reason, source_id, truncated, error, deliveries (name/value pairs). */
const HEADER_FIELDS = 10

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
  let truncated = false
  let budget = MAX_COPY
  const copy: string[] = []
  for (let i = 0; i + 1 < original.length; i += 2) {
    const name = (original[i] as string).slice(0, MAX_VALUE)
    const value = (original[i + 1] as string).slice(0, MAX_VALUE)
    if (name.length < (original[i] as string).length || value.length < (original[i + 1] as string).length) truncated = true
    budget -= name.length + value.length
    if (budget < 0) {
      truncated = true
      break
    }
    copy.push(redact(name), redact(value))
  }
  if (original.length % 2 === 1) truncated = true
  const err = error.slice(0, MAX_VALUE)
  return [
    "reason", redact(reason), "source_id", sourceId, "truncated", truncated || err.length < error.length ? "1" : "0",
    "error", redact(err), "deliveries", String(deliveries),
    ...copy
  ]
}

/** Read an entry by position; undefined when its header is not the contract's. */
export const parseDeadLetter = (fields: readonly string[]): BackfillDeadLetter | undefined => {
  const names = ["reason", "source_id", "truncated", "error", "deliveries"]
  if (fields.length < HEADER_FIELDS || names.some((n, i) => fields[2 * i] !== n)) return undefined
  const original: Record<string, string> = {}
  for (let i = HEADER_FIELDS; i + 1 < fields.length; i += 2) original[fields[i] as string] = fields[i + 1] as string
  return {
    reason: fields[1] as string,
    sourceId: fields[3] as string,
    truncated: fields[5] === "1",
    error: fields[7] as string,
    deliveries: Number(fields[9]),
    original
  }
}
