/**
 * One stream entry as every reader and writer sees it: its ID and its flat field/value
 * list, and the one fold of that list into a record. Per-stream meaning (which fields,
 * which values are valid) lives in each stream's own module, never here.
 */

export interface StreamEntry {
  readonly id: string
  readonly fields: readonly string[]
}

/**
 * A field list as a record. Later duplicates win; the engine never writes duplicates, and
 * the decoders that must refuse them (scores, lifecycle) check before folding. A trailing
 * name without a value is ignored.
 */
export const fieldRecord = (fields: readonly string[]): Record<string, string> => {
  const o: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] as string] = fields[i + 1] as string
  return o
}

/** The value of the first field called `name`, without folding the whole list. */
export const fieldValue = (fields: readonly string[], name: string): string | undefined => {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

/** The first field name that occurs twice, if any: for decoders that refuse duplicates. */
export const firstDuplicate = (fields: readonly string[]): string | undefined => {
  const seen = new Set<string>()
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string
    if (seen.has(name)) return name
    seen.add(name)
  }
  return undefined
}

/** An XREAD / XREADGROUP reply: per stream, its entries (nil fields for an entry removed meanwhile). */
export type ReadReply = [string, [string, string[] | null][]][] | null

/** A read reply as entries, stream by stream (the one place such a reply becomes `StreamEntry`s). */
export const entriesByStream = (reply: ReadReply): { readonly stream: string; readonly entries: StreamEntry[] }[] =>
  (reply ?? []).map(([stream, list]) => ({ stream, entries: list.map(([id, fields]) => ({ id, fields: fields ?? [] })) }))

/** The entries of a read reply over one stream. */
export const entriesOfReply = (reply: ReadReply): StreamEntry[] => entriesByStream(reply)[0]?.entries ?? []
