/**
 * An ObjectStore that counts the requests it passes on (PUT, GET, HEAD, LIST, DELETE) and
 * the bytes written and read: what a lake costs on S3, measured by the bench and checked by
 * tests ("this read lists nothing"). A LIST is counted once per call (S3 pages 1,000 keys
 * per request; `listedKeys` allows the page count to be derived).
 * Does not change what the wrapped store does.
 */
import type { ObjectStore } from "./object-store.ts"

export interface StoreCounts {
  puts: number
  gets: number
  heads: number
  lists: number
  deletes: number
  bytesPut: number
  bytesGot: number
  listedKeys: number
}

export const zeroCounts = (): StoreCounts => ({ puts: 0, gets: 0, heads: 0, lists: 0, deletes: 0, bytesPut: 0, bytesGot: 0, listedKeys: 0 })

export const countingStore = (inner: ObjectStore, counts: StoreCounts = zeroCounts()): ObjectStore & { readonly counts: StoreCounts } => ({
  counts,
  location: inner.location,
  async put(key, bytes) {
    counts.puts++
    counts.bytesPut += bytes.byteLength
    await inner.put(key, bytes)
  },
  async get(key, range) {
    counts.gets++
    const out = await inner.get(key, range)
    counts.bytesGot += out?.byteLength ?? 0
    return out
  },
  async size(key) {
    counts.heads++
    return inner.size(key)
  },
  async list(prefix) {
    counts.lists++
    const out = await inner.list(prefix)
    counts.listedKeys += out.length
    return out
  },
  async delete(key) {
    counts.deletes++
    await inner.delete(key)
  },
  close: () => inner.close()
})
