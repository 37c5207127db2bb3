/**
 * Rounds of a comparison between variants on a shared machine whose load drifts: each
 * round runs every variant once, in the given order or (`turn`) in an order that turns by
 * one each round, and of each variant the best run is kept (`better(a, b)`: run a beats
 * the best so far, b; on a tie the earlier run stays). Every run is kept too, in order.
 * Does not measure anything, and does not choose how many rounds: the scenario does.
 */
export interface Rounds<V, R> {
  readonly best: Map<V, R>
  readonly runs: Map<V, R[]>
}

export const bestOfRounds = async <V, R>(o: {
  readonly rounds: number
  readonly variants: readonly V[]
  readonly turn?: boolean
  readonly run: (variant: V, round: number) => Promise<R>
  readonly better: (a: R, b: R) => boolean
}): Promise<Rounds<V, R>> => {
  const best = new Map<V, R>()
  const runs = new Map<V, R[]>(o.variants.map((v) => [v, []]))
  for (let round = 0; round < o.rounds; round++) {
    const order = o.turn ? o.variants.map((_, i) => o.variants[(i + round) % o.variants.length] as V) : o.variants
    for (const variant of order) {
      const r = await o.run(variant, round)
      runs.get(variant)?.push(r)
      const b = best.get(variant)
      if (b === undefined || o.better(r, b)) best.set(variant, r)
    }
  }
  return { best, runs }
}
