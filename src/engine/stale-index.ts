/**
 * The staleness index of one partition: every actor that a stale event could demote
 * (machines/rules.ts `staleDeadline`), ordered by that deadline, so that a batch finds the
 * actors the stream time has made stale without looking at any other. Order is
 * (deadline, symbol), so ties always come out the same way.
 *
 * A binary min-heap with lazy deletion beside a map of each symbol's live deadline: a
 * changed deadline is pushed and the old entry left in place, to be skipped when it
 * surfaces. A new deadline is almost always the latest (the stream time moved on), so a
 * push rarely sifts at all, where an indexed heap would sift and re-index on every change.
 * Superseded entries are dropped once they outnumber the live ones.
 * Holds deadlines only, never actors: passivated actors are indexed too. Pure and in
 * memory; rebuilt from the snapshots hash at start (ingest.ts), not persisted.
 */
export class StaleIndex {
  private deadlines: number[] = []
  private symbols: string[] = []
  private readonly live = new Map<string, number>()

  get size(): number {
    return this.live.size
  }

  get(symbol: string): number | undefined {
    return this.live.get(symbol)
  }

  /** Set a symbol's deadline; undefined removes it from the index. */
  set(symbol: string, deadline: number | undefined): void {
    if (deadline === undefined) {
      this.live.delete(symbol)
    } else {
      if (this.live.get(symbol) === deadline) return
      this.live.set(symbol, deadline)
      this.deadlines.push(deadline)
      this.symbols.push(symbol)
      this.up(this.symbols.length - 1)
    }
    if (this.symbols.length > 2 * this.live.size + 1_024) this.compact()
  }

  /** The smallest (deadline, symbol), without removing it. */
  peek(): { readonly symbol: string; readonly deadline: number } | undefined {
    while (this.symbols.length > 0 && !this.isLive(0)) this.removeTop()
    if (this.symbols.length === 0) return undefined
    return { symbol: this.symbols[0] as string, deadline: this.deadlines[0] as number }
  }

  /** Remove and return the smallest (deadline, symbol). */
  pop(): { readonly symbol: string; readonly deadline: number } | undefined {
    const top = this.peek()
    if (top) {
      this.removeTop()
      this.live.delete(top.symbol)
    }
    return top
  }

  /**
   * Every live (symbol, deadline) with a deadline at or before `upTo`, in index order,
   * without removing them. Visits only those nodes and their direct children: a node past
   * `upTo` has a subtree past it.
   */
  dueUpTo(upTo: number): [string, number][] {
    const out: [string, number][] = []
    const seen = new Set<string>()
    const stack = this.symbols.length > 0 ? [0] : []
    while (stack.length > 0) {
      const i = stack.pop() as number
      if ((this.deadlines[i] as number) > upTo) continue
      const symbol = this.symbols[i] as string
      // The same deadline may have been pushed twice (set to d, to e, back to d).
      if (this.isLive(i) && !seen.has(symbol)) {
        seen.add(symbol)
        out.push([symbol, this.deadlines[i] as number])
      }
      const l = 2 * i + 1
      if (l < this.symbols.length) stack.push(l)
      if (l + 1 < this.symbols.length) stack.push(l + 1)
    }
    return out.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  clear(): void {
    this.deadlines = []
    this.symbols = []
    this.live.clear()
  }

  private isLive(i: number): boolean {
    return this.live.get(this.symbols[i] as string) === this.deadlines[i]
  }

  /** Keep one entry per live symbol, then restore the heap order bottom-up (O(n)). */
  private compact(): void {
    this.deadlines = []
    this.symbols = []
    for (const [symbol, deadline] of this.live) {
      this.symbols.push(symbol)
      this.deadlines.push(deadline)
    }
    for (let i = (this.symbols.length >> 1) - 1; i >= 0; i--) this.down(i)
  }

  private less(i: number, j: number): boolean {
    const a = this.deadlines[i] as number
    const b = this.deadlines[j] as number
    return a < b || (a === b && (this.symbols[i] as string) < (this.symbols[j] as string))
  }

  private swap(i: number, j: number): void {
    const d = this.deadlines[i] as number
    const s = this.symbols[i] as string
    this.deadlines[i] = this.deadlines[j] as number
    this.symbols[i] = this.symbols[j] as string
    this.deadlines[j] = d
    this.symbols[j] = s
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(i, parent)) return
      this.swap(i, parent)
      i = parent
    }
  }

  private down(i: number): void {
    const n = this.symbols.length
    for (;;) {
      const l = 2 * i + 1
      let m = i
      if (l < n && this.less(l, m)) m = l
      if (l + 1 < n && this.less(l + 1, m)) m = l + 1
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }

  private removeTop(): void {
    const last = this.symbols.length - 1
    this.swap(0, last)
    this.deadlines.pop()
    this.symbols.pop()
    if (last > 0) this.down(0)
  }
}
