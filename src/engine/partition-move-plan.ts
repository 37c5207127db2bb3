/**
 * The decisions of moving an install of one partition to `to` partitions, without I/O
 * (partition-move.ts carries them out): whether a run has anything to do or must be
 * refused, what must be true of the install before anything moves, and where each of
 * partition 0's symbols goes. A symbol whose partition under `to` is 0 stays; every other
 * one moves to its partition. Pure.
 */
import type { InstallRecord, UnrecordedState } from "../../streams/install-record.ts"
import { symbolPartition } from "../../streams/partition.ts"

export type MoveStart =
  | { readonly kind: "done" }
  | { readonly kind: "refused"; readonly reason: string }
  /** `resumed`: an earlier run marked the record and did not finish; this one finishes it. */
  | { readonly kind: "run"; readonly resumed: boolean }

/** What a run over this record does: nothing (already moved), refuse, or move (again). */
export const moveStart = (record: InstallRecord, unrecorded: UnrecordedState, to: number): MoveStart => {
  if (!Number.isInteger(to) || to < 2) return { kind: "refused", reason: `--to must be a whole number of partitions above 1 (got ${to})` }
  if (record.migrating !== undefined) {
    return record.migrating === to
      ? { kind: "run", resumed: true }
      : { kind: "refused", reason: `a move to ${record.migrating} partitions is under way: run \`strata partitions migrate --to ${record.migrating}\` to finish it first` }
  }
  if (record.partitions === to) return { kind: "done" }
  if (record.partitions !== undefined && record.partitions !== 1) {
    return { kind: "refused", reason: `this install has ${record.partitions} partitions: only an install of one partition can be moved (a count above 1 is fixed)` }
  }
  if (record.partitions === undefined && unrecorded === "partitioned") {
    return { kind: "refused", reason: "this install routes to partitions already (a router group on the ingress stream) but records no count: start its engines once to record it" }
  }
  return { kind: "run", resumed: false }
}

/** What must hold before a symbol moves: nothing runs on the install, nothing is in hand. */
export interface MoveFacts {
  /** The holder of partition 0's lease, and how long it has left. */
  readonly lease: { readonly owner: string; readonly pttlMs: number } | undefined
  /** The holder of the router's lease. */
  readonly router: { readonly owner: string; readonly pttlMs: number } | undefined
  /** Engine processes whose membership has not ended. */
  readonly members: readonly string[]
  /** Entries the engine's group on the ingress stream was given and has not applied. */
  readonly enginePending: number
  /** Backfill commands of partition 0 that a worker holds (read, not settled). */
  readonly backfillHeld: number
  /**
   * Entries in partition 0's direct scores stream. An install of one partition has no
   * direct stream (its engine reads ingress), so these were written for a count not yet
   * made and nobody applied them; partition 0's engine would read them after the move.
   */
  readonly directEntries: number
}

/** The first reason not to move now, with its fix; undefined when the move may go on. */
export const moveRefusal = (f: MoveFacts): string | undefined => {
  if (f.lease !== undefined) {
    return `an engine holds partition 0's lease (${f.lease.owner}, ${f.lease.pttlMs} ms left): stop every engine, then run the move again`
  }
  if (f.router !== undefined) return `an engine holds the router's lease (${f.router.owner}, ${f.router.pttlMs} ms left): stop every engine, then run the move again`
  if (f.members.length > 0) return `${f.members.length} engine(s) are members of the install (${f.members.join(", ")}): stop every engine, then run the move again`
  if (f.enginePending > 0) {
    return `the engine read ${f.enginePending} ingress entr${f.enginePending === 1 ? "y" : "ies"} it has not applied: ` +
      "start the engine (partitions: 1) until it has applied them, stop it, then run the move again"
  }
  if (f.backfillHeld > 0) {
    return `backfill workers hold ${f.backfillHeld} command(s) of partition 0: let them finish (\`strata workers\`, partitions: 1), stop them, then run the move again`
  }
  if (f.directEntries > 0) {
    return `partition 0's direct scores stream holds ${f.directEntries} entr${f.directEntries === 1 ? "y" : "ies"} that no engine of this ` +
      "one-partition install reads: write them to the ingress stream instead, delete the direct stream, then run the move again"
  }
  return undefined
}

/** Partition 0's symbols that move, by their partition under `to` (each list in the given order). */
export const symbolMoves = (symbols: Iterable<string>, to: number): Map<number, string[]> => {
  const moves = new Map<number, string[]>()
  for (const symbol of symbols) {
    const p = symbolPartition(symbol, to)
    if (p === 0) continue
    const list = moves.get(p)
    if (list) list.push(symbol)
    else moves.set(p, [symbol])
  }
  return moves
}
