/**
 * Types of `cluster-key-slot` (the Redis Cluster slot of a key, the CRC16 ioredis routes
 * by), which ships none.
 */
declare module "cluster-key-slot" {
  /** The slot, in [0, 16384), of a key: CRC16/XMODEM of its hash tag (or of the whole key) mod 16384. */
  const calculateSlot: ((key: string | Buffer) => number) & {
    /** The one slot of several keys; -1 when they are in different slots. */
    readonly generateMulti: (keys: readonly (string | Buffer)[]) => number
  }
  export default calculateSlot
}
