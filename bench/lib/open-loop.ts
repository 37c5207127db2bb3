/**
 * The open-loop load generator: event i is intended to be sent at start + i / rate,
 * whatever happened to earlier events, so a slow system under test faces the queue a real
 * producer would build instead of slowing the producer down (coordinated omission).
 * Each tick sends every event that has come due, stamped with its intended time.
 * The schedule arithmetic is pure; the driver takes an injected clock.
 */
export interface Schedule {
  /** Clock time of the first event (ms). */
  readonly start: number
  /** Events per second. */
  readonly rate: number
  /** Total events. */
  readonly total: number
}

/** Intended send time of event i (ms). */
export const intendedAt = (s: Schedule, i: number): number => s.start + (i * 1000) / s.rate

/** How many events are due by `now` in all (never more than total). */
export const dueBy = (s: Schedule, now: number): number =>
  now < s.start ? 0 : Math.min(s.total, Math.floor(((now - s.start) * s.rate) / 1000) + 1)

export interface DueEvent {
  readonly seq: number
  readonly intended: number
}

export interface OpenLoopClock {
  readonly now: () => number
  /** Wait roughly `ms` (may return early or late; the schedule absorbs either). */
  readonly sleep: (ms: number) => Promise<void>
}

export const realClock: OpenLoopClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => (ms <= 0 ? setImmediate(resolve) : setTimeout(resolve, ms)))
}

/**
 * Drive `send` on the schedule until every event is sent. `send` gets the events due at
 * this tick and the clock time it was called (their actual send time); it may be async,
 * but the next tick does not wait for it, so a slow send never delays the schedule.
 */
export const runOpenLoop = async (
  schedule: Schedule,
  send: (events: readonly DueEvent[], sentAt: number) => void | Promise<void>,
  clock: OpenLoopClock = realClock
): Promise<void> => {
  let sent = 0
  const inflight: Promise<void>[] = []
  while (sent < schedule.total) {
    const now = clock.now()
    const due = dueBy(schedule, now)
    if (due > sent) {
      const events: DueEvent[] = []
      for (let i = sent; i < due; i++) events.push({ seq: i, intended: intendedAt(schedule, i) })
      sent = due
      const r = send(events, now)
      if (r) inflight.push(r)
    }
    if (sent < schedule.total) await clock.sleep(Math.max(0, intendedAt(schedule, sent) - clock.now()))
  }
  await Promise.all(inflight)
}
