/**
 * The staleness index of one partition: every actor that a stale event could demote
 * (machines/rules.ts `staleDeadline`), ordered by that deadline, so that a batch finds the
 * actors the stream time has made stale without looking at any other. An indexed binary
 * min-heap: one slot per symbol, set / delete / look-up in O(log n), the due ones in
 * O(k log k) for k due. Order is (deadline, symbol), so ties always come out the same way.
 * Holds deadlines only, never actors: passivated actors are indexed too.
 * Pure and in memory; it is rebuilt from the snapshots hash at start (ingest.ts), not
 * persisted.
 */
export class StaleIndex {
  private readonly deadlines: number[] = []
  private readonly symbols: string[] = []
  private readonly slots = new Map<string, number>()

  get size(): number {
    return this.symbols.length
  }

  get(symbol: string): number | undefined {
    const i = this.slots.get(symbol)
    return i === undefined ? undefined : this.deadlines[i]
  }

  /** Set a symbol's deadline; undefined removes it from the index. */
  set(symbol: string, deadline: number | undefined): void {
    const i = this.slots.get(symbol)
    if (deadline === undefined) {
      if (i !== undefined) this.removeAt(i)
      return
    }
    if (i === undefined) {
      const n = this.symbols.length
      this.deadlines.push(deadline)
      this.symbols.push(symbol)
      this.slots.set(symbol, n)
      this.up(n)
      return
    }
    const before = this.deadlines[i] as number
    this.deadlines[i] = deadline
    if (deadline < before) this.up(i)
    else if (deadline > before) this.down(i)
  }

  /** The smallest (deadline, symbol), without removing it. */
  peek(): { readonly symbol: string; readonly deadline: number } | undefined {
    if (this.symbols.length === 0) return undefined
    return { symbol: this.symbols[0] as string, deadline: this.deadlines[0] as number }
  }

  /** Remove and return the smallest (deadline, symbol). */
  pop(): { readonly symbol: string; readonly deadline: number } | undefined {
    const top = this.peek()
    if (top) this.removeAt(0)
    return top
  }

  /**
   * Every (symbol, deadline) with a deadline at or before `upTo`, in index order, without
   * removing them. Visits only those nodes and their direct children: a node past `upTo`
   * has a subtree past it.
   */
  dueUpTo(upTo: number): [string, number][] {
    const out: [string, number][] = []
    const stack = this.symbols.length > 0 ? [0] : []
    while (stack.length > 0) {
      const i = stack.pop() as number
      const d = this.deadlines[i] as number
      if (d > upTo) continue
      out.push([this.symbols[i] as string, d])
      const l = 2 * i + 1
      if (l < this.symbols.length) stack.push(l)
      if (l + 1 < this.symbols.length) stack.push(l + 1)
    }
    return out.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  clear(): void {
    this.deadlines.length = 0
    this.symbols.length = 0
    this.slots.clear()
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
    this.slots.set(this.symbols[i] as string, i)
    this.slots.set(s, j)
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

  private removeAt(i: number): void {
    const last = this.symbols.length - 1
    const symbol = this.symbols[i] as string
    if (i !== last) this.swap(i, last)
    this.deadlines.pop()
    this.symbols.pop()
    this.slots.delete(symbol)
    if (i < last) {
      this.up(i)
      this.down(i)
    }
  }
}
