/** The router's keys: in the ingress stream's Cluster slot, apart from every partition's keys. */
import { fc, test } from "@fast-check/vitest"
import calculateSlot from "cluster-key-slot"
import { expect } from "vitest"
import { ingressKeys, partitionKeys, routerKeys } from "../../streams/keys.ts"

const arbPrefix = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,64}$/)

test.prop([arbPrefix])("the router's keys share the ingress scores stream's slot", (prefix) => {
  const slot = calculateSlot(ingressKeys(prefix).scores)
  const keys = routerKeys(prefix)
  expect([calculateSlot(keys.lease), calculateSlot(keys.leaseEpoch)]).toEqual([slot, slot])
})

test.prop([arbPrefix, fc.integer({ min: 1, max: 32 })])("the router's keys are no partition's keys and no ingress key", (prefix, count) => {
  const router = Object.values(routerKeys(prefix))
  const others = new Set([...Object.values(ingressKeys(prefix)), ...Array.from({ length: count }, (_, p) => Object.values(partitionKeys(prefix, p, count))).flat()])
  for (const k of router) expect(others.has(k)).toBe(false)
  expect(new Set(router).size).toBe(router.length)
})
