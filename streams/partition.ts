/**
 * A symbol's partition: which of the install's `count` partitions owns a symbol's state,
 * events and commands. Every process (engines, the ingress router, workers, `strata`
 * commands) and every producer that writes a partition's stream itself must compute the
 * same answer, on any machine, Node version or time zone, for as long as the install
 * lives, so the definition is fixed and written down here and in docs/partitions.md:
 *
 *   partition(symbol, count) =
 *     uint32_be(first 4 bytes of SHA-256(UTF-8(normalise(symbol)))) mod count
 *
 * where normalise is the scores decoder's (src/domain/symbols.ts: trim, then upper-case),
 * so ` aapl ` and `AAPL` share a partition. SHA-256 is shipped by Node (node:crypto) and by
 * every language's standard library; in Python:
 *
 *   import hashlib
 *   def partition(symbol: str, count: int) -> int:
 *       return int.from_bytes(hashlib.sha256(symbol.strip().upper().encode()).digest()[:4], "big") % count
 *
 * (for the symbols the decoder accepts, which are ASCII, Python's strip/upper and
 * JavaScript's trim/toUpperCase agree). The modulo bias of a 32-bit value over at most
 * MAX_PARTITIONS partitions is below 1 in 16 million: negligible.
 *
 * Pure. Does not validate the symbol (the decoder does: an invalid one is dead-lettered
 * before anything routes it), nor choose the partition's Redis keys (keys.ts, with the
 * hash tags of partition-tags.ts).
 */
import { createHash } from "node:crypto"
import { normaliseSymbol } from "../src/domain/symbols.ts"

/**
 * The most partitions an install may have: ten times more than the engine processes one
 * install would sensibly run, while every partition costs its owner a lease renewal and a
 * reader, and the search for its hash tag (partition-tags.ts) grows with the square of
 * the count (256: a few hundred milliseconds once per process).
 */
export const MAX_PARTITIONS = 256

/** Throws unless `count` is a whole number of partitions in [1, MAX_PARTITIONS]. */
export const assertPartitionCount = (count: number): number => {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS) {
    throw new Error(`invalid partition count ${count}: an integer in [1, ${MAX_PARTITIONS}]`)
  }
  return count
}

/** The partition, in [0, count), of a symbol (raw or normalised: it is normalised here). */
export const symbolPartition = (symbol: string, count: number): number => {
  assertPartitionCount(count)
  const digest = createHash("sha256").update(normaliseSymbol(symbol), "utf8").digest()
  return digest.readUInt32BE(0) % count
}
