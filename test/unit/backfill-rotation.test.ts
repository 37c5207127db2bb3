/**
 * The order a backfill worker fiber visits partitions in (src/backfill/rotation.ts),
 * simulated over queues of commands: every partition is visited once per take, the read
 * blocks on the last one only, and the k-th command of any partition is taken within the
 * fiber's first k × count takes, however full the other partitions are.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { advance, newRotation, visitOrder, type Rotation } from "../../src/backfill/rotation.ts"

/** One take over `queues` (commands left per partition): the partition taken from, if any. */
const takeOnce = (rotation: Rotation, queues: number[]): number | undefined => {
  const taken = visitOrder(rotation, queues.length).find((p) => (queues[p] ?? 0) > 0)
  if (taken !== undefined) queues[taken] = (queues[taken] ?? 0) - 1
  advance(rotation, queues.length, taken)
  return taken
}

describe("backfill partition rotation", () => {
  test.prop([fc.integer({ min: 1, max: 64 }), fc.nat(100)], { seed: 3101 })("visits every partition once per take, starting at the rotation", (count, fiber) => {
    const rotation = newRotation(fiber, count)
    const order = visitOrder(rotation, count)
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, p) => p))
    expect(order[0]).toBe(fiber % count)
  })

  test.prop([fc.array(fc.nat(40), { minLength: 1, maxLength: 16 }), fc.nat(15)], { seed: 3102 })(
    "takes the k-th command of every partition within k × count takes",
    (initial, fiber) => {
      const queues = [...initial]
      const count = queues.length
      const rotation = newRotation(fiber, count)
      const takenAt: number[][] = queues.map(() => [])
      const total = initial.reduce((a, b) => a + b, 0)
      for (let t = 1; t <= total; t++) {
        const p = takeOnce(rotation, queues)
        expect(p).toBeDefined()
        takenAt[p!]!.push(t)
      }
      for (const [p, takes] of takenAt.entries()) {
        expect(takes.length).toBe(initial[p])
        takes.forEach((t, k) => expect(t).toBeLessThanOrEqual((k + 1) * count))
      }
    }
  )

  it("moves the blocking read on by one partition after a take that found nothing", () => {
    const rotation = newRotation(0, 3)
    const blocked: number[] = []
    for (let i = 0; i < 4; i++) {
      blocked.push(visitOrder(rotation, 3).at(-1)!)
      takeOnce(rotation, [0, 0, 0])
    }
    expect(blocked).toEqual([2, 0, 1, 2])
  })

  it("a full partition does not hold back a command on another", () => {
    const rotation = newRotation(0, 8)
    const queues = [100, 0, 0, 0, 0, 1, 0, 0]
    const order: number[] = []
    for (let i = 0; i < 3; i++) order.push(takeOnce(rotation, queues)!)
    expect(order).toEqual([0, 5, 0])
  })
})
