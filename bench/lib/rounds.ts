/**
 * Rounds of a comparison between variants on a shared machine whose load drifts: each
 * round runs every variant once, in the order `order` gives for the round (the given
 * order by default; `turning`: turned by one each round; `alternating`: reversed every
 * other round), and of each variant the best run is kept (`better(a, b)`: run a beats
 * the best so far, b; on a tie the earlier run stays). Every run is kept too, in order.
 * Does not measure anything, and does not choose how many rounds: the scenario does.
 */
export interface Rounds<V, R> {
  readonly best: Map<V, R>
  readonly runs: Map<V, R[]>
}

/** A round's order of the variants: every variant once. */
export type RoundOrder<V> = (round: number, variants: readonly V[]) => readonly V[]

/** The variants in the given order, every round. */
export const given = <V>(_round: number, variants: readonly V[]): readonly V[] => variants

/** The variants turned by one each round: round r starts with the r-th. */
export const turning = <V>(round: number, variants: readonly V[]): readonly V[] =>
  variants.map((_, i) => variants[(i + round) % variants.length]!)

/** The variants in their order on even rounds, reversed on odd ones. */
export const alternating = <V>(round: number, variants: readonly V[]): readonly V[] =>
  round % 2 === 0 ? variants : [...variants].reverse()

export const bestOfRounds = async <V, R>(o: {
  readonly rounds: number
  readonly variants: readonly V[]
  /** `given` when left out. */
  readonly order?: RoundOrder<V>
  readonly run: (variant: V, round: number) => Promise<R>
  readonly better: (a: R, b: R) => boolean
}): Promise<Rounds<V, R>> => {
  const best = new Map<V, R>()
  const runs = new Map<V, R[]>(o.variants.map((v) => [v, []]))
  for (let round = 0; round < o.rounds; round++) {
    for (const variant of (o.order ?? given)(round, o.variants)) {
      const r = await o.run(variant, round)
      runs.get(variant)?.push(r)
      const b = best.get(variant)
      if (b === undefined || o.better(r, b)) best.set(variant, r)
    }
  }
  return { best, runs }
}
