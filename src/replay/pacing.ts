/**
 * Event-time pacing for replay: at speed N×, an entry whose event time is Δ after the
 * first entry's is released Δ/N after the replay started; `max` releases everything at
 * once. The arithmetic is pure (`dueAt`); the Pacer applies it with an injected clock, so
 * tests drive it with a simulated one. Event time never runs backwards here: a late entry
 * (older than one already released) is due at once, as it was in the original stream.
 */
import { scoresEventTime } from "../../streams/scores-wire.ts"

export type Speed = { readonly kind: "max" } | { readonly kind: "factor"; readonly factor: number }

export const MAX_SPEED: Speed = { kind: "max" }

/** "1x", "10x", "0.5x", "max" (a bare number means ×). Throws naming the flag. */
export const parseSpeed = (text: string): Speed => {
  const t = text.trim().toLowerCase()
  if (t === "max") return MAX_SPEED
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(t)
  const factor = m ? Number(m[1]) : NaN
  if (!Number.isFinite(factor) || factor <= 0) throw new Error(`--speed ${JSON.stringify(text)}: expected 1x, 10x, any positive N x, or max`)
  return { kind: "factor", factor }
}

export const showSpeed = (s: Speed): string => (s.kind === "max" ? "max" : `${s.factor}x`)

export interface Clock {
  /** Milliseconds on a monotonic clock. */
  readonly now: () => number
  readonly sleep: (ms: number) => Promise<void>
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms))
}

export interface Anchor {
  /** Clock time the first entry was released. */
  readonly wall: number
  /** Event time of the first entry. */
  readonly event: number
}

/** Clock time at which an entry of event time `at` is due (pure). */
export const dueAt = (anchor: Anchor, at: number, factor: number): number =>
  anchor.wall + Math.max(0, at - anchor.event) / factor

/**
 * The event time pacing uses for an entry: its `ts` field when valid, else its entry ID's
 * milliseconds (the decoder's rule; an invalid entry is paced by its ID and dead-lettered).
 */
export const pacingTime = (id: string, fields: readonly string[]): number => scoresEventTime(id, fields)

export class Pacer {
  private anchor: Anchor | undefined
  private latest = -Infinity

  constructor(private readonly speed: Speed, private readonly clock: Clock) {}

  /** Milliseconds to wait before releasing an entry of event time `at` (0: release now). */
  delay(at: number): number {
    if (this.speed.kind === "max") return 0
    const now = this.clock.now()
    if (this.anchor === undefined) {
      this.anchor = { wall: now, event: at }
      this.latest = at
      return 0
    }
    this.latest = Math.max(this.latest, at)
    return Math.max(0, dueAt(this.anchor, this.latest, this.speed.factor) - now)
  }

  sleep(ms: number): Promise<void> {
    return this.clock.sleep(ms)
  }
}
