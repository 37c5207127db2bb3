/**
 * The latency scenario's input, one home for it: which symbol and scores event `seq`
 * carries, and which events owe an output. Event `seq` is for symbol seq mod SYMBOLS; each
 * symbol cycles through ten phases, offset per symbol so the mix is even over time: phase 0
 * qualifies it for L1 (one backfill command), phases 1-8 hold it there (no transition),
 * phase 9 disqualifies it. One event in ten owes a command, one in five is a transition,
 * like a scanner whose scores mostly hold. The volume-matched raw relay emits for exactly
 * the events the engine emits for.
 */
import { benchSymbol } from "../../fixtures/workload.ts"

export const SYMBOLS = 1000

const phaseOf = (seq: number): number => (Math.floor(seq / SYMBOLS) + (seq % SYMBOLS)) % 10

/** Whether the engine owes a backfill command for event `seq`. */
export const owesCommand = (seq: number): boolean => phaseOf(seq) === 0

/** The share of events that owe a command. */
export const COMMAND_SHARE = 0.1

/** Event `seq` as the scores encoder's arguments (`scoresFields` of streams/scores-wire.ts): symbol, scores, ts. */
export const scoreEvent = (t: number, seq: number) =>
  [benchSymbol(seq % SYMBOLS), { liquidity: phaseOf(seq) === 9 ? "0.1" : "0.9" }, t + seq] as const

/** Events carry explicit IDs `<T>-<seq+1>`, so an output's cause names its event without a lookup. */
export const idOf = (t: number, seq: number): string => `${t}-${seq + 1}`

/** The event seq an entry ID made by `idOf` names. */
export const seqOfId = (id: string): number => Number(id.slice(id.indexOf("-") + 1)) - 1
