/**
 * A private Redis Cluster for the tests of one file: `useRedisCluster()` starts one
 * (startRedisCluster: three masters by default, in a folder below the run's servers
 * folder) before the file's tests and stops every node by pid after them, also when a
 * test fails; should the test process exit without its afterAll, an exit hook kills the
 * nodes. Clients made with `connect()` are closed before the nodes stop.
 * Also reads the Cluster's slot map: which master serves a slot.
 */
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { Cluster, Redis } from "ioredis"
import { afterAll, beforeAll, inject } from "vitest"
import { startRedisCluster, type ClusterNode, type PrivateCluster } from "../../src/services/private-servers.ts"

export interface ClusterFixture {
  /** The masters, once beforeAll has run. */
  readonly nodes: () => readonly ClusterNode[]
  /** An ioredis Cluster client on the fixture, closed in afterAll. */
  readonly connect: () => Cluster
  /** Slot ranges per master, from CLUSTER SLOTS: [first, last, port]. */
  readonly slotMap: () => Promise<readonly (readonly [number, number, number])[]>
}

export const useRedisCluster = (options: { masters?: number } = {}): ClusterFixture => {
  let cluster: PrivateCluster | undefined
  const clients: (Cluster | Redis)[] = []
  // Synchronous, so it runs even when the process exits without the afterAll.
  const killAll = () => {
    for (const n of cluster?.nodes ?? []) {
      try {
        process.kill(n.pid, "SIGKILL")
      } catch {
        // Already gone: nothing to stop.
      }
    }
  }
  beforeAll(async () => {
    cluster = await startRedisCluster(join(inject("serversDir"), `cluster-${randomBytes(4).toString("hex")}`), options)
    process.once("exit", killAll)
  })
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.quit()))
    await cluster?.stop()
    process.removeListener("exit", killAll)
  })
  const nodes = () => {
    if (!cluster) throw new Error("the Redis Cluster is not started yet (use it inside a test or hook)")
    return cluster.nodes
  }
  const remember = <T extends Cluster | Redis>(c: T): T => {
    clients.push(c)
    return c
  }
  return {
    nodes,
    connect: () => remember(new Cluster(nodes().map((n) => ({ host: n.host, port: n.port })))),
    slotMap: async () => {
      const node = nodes()[0] as ClusterNode
      const direct = remember(new Redis({ host: node.host, port: node.port, lazyConnect: true }))
      const slots = await direct.cluster("SLOTS")
      return slots.map(([first, last, master]) => [first, last, Number(master?.[1])] as const).sort((a, b) => a[0] - b[0])
    }
  }
}
