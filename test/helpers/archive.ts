/** Reading the scanner archive as stored, for tests that count what it holds. */
import { objectAsyncBuffer, type ObjectStore } from "../../src/storage/object-store.ts"
import { ARCHIVE_ROOT, decodeArchivePart, parsePartKey, sortParts, type ArchivedScore, type PartName } from "../../src/storage/scores-archive.ts"

/** Every row of every part, in part order, as stored (no de-duplication): what "exactly once" is checked on. */
export const allArchivedRows = async (store: ObjectStore): Promise<ArchivedScore[]> => {
  const out: ArchivedScore[] = []
  const parts = (await store.list(ARCHIVE_ROOT)).map(parsePartKey).filter((p): p is PartName => p !== undefined)
  for (const { key } of sortParts(parts)) {
    const file = await objectAsyncBuffer(store, key)
    if (!file) continue
    for await (const rows of decodeArchivePart(file)) out.push(...rows)
  }
  return out
}
