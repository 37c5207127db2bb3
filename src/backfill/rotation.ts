/**
 * The order in which a worker fiber looks at an install's partitions' backfill streams,
 * and what that order guarantees. A take visits every partition once, in cyclic order,
 * starting just after the partition of the fiber's last take: on each, entries left
 * stale by a silent consumer, then new ones; on the last one visited the read of new
 * entries blocks (up to `block_ms`), so a quiet install costs one blocking read per take,
 * not one per partition. After a take that found nothing the start moves on by one, so the
 * blocking read rotates over the partitions.
 *
 * The guarantee (fairness): between two takes of one fiber from the same partition, the
 * fiber looked at every other partition; so an entry at the head of a partition's stream
 * is taken by a fiber within its next `count` takes, however many entries other
 * partitions hold. Within one partition's stream the order is the stream's (stale first,
 * then oldest new).
 * Pure. Does not read a stream: worker.ts does.
 */

export interface Rotation {
  /** The partition a fiber's next take starts at. */
  next: number
}

/** A fiber's rotation; fibers start at different partitions so they do not all crowd one. */
export const newRotation = (fiber: number, count: number): Rotation => ({ next: fiber % count })

/** The partitions one take visits, in order; the last one is where the read blocks. */
export const visitOrder = (rotation: Rotation, count: number): number[] =>
  Array.from({ length: count }, (_, k) => (rotation.next + k) % count)

/** After a take: start after the partition taken from, or after the last start when nothing was found. */
export const advance = (rotation: Rotation, count: number, takenFrom: number | undefined): void => {
  rotation.next = ((takenFrom ?? rotation.next) + 1) % count
}
