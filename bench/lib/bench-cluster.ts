/**
 * A private Redis Cluster for one bench measurement: three masters, no replicas, on free
 * loopback ports, each node's files below the scenario's scratch folder
 * (src/services/private-servers.ts startRedisCluster), and its `redis+cluster://` URL, the
 * form an engine's REDIS_URL takes. `stop` stops every node by its pid. Does not measure.
 */
import { join } from "node:path"
import { startRedisCluster } from "../../src/services/private-servers.ts"

export interface BenchCluster {
  readonly url: string
  readonly stop: () => Promise<void>
}

export const startBenchCluster = async (tmpDir: string, masters = 3): Promise<BenchCluster> => {
  const cluster = await startRedisCluster(join(tmpDir, "cluster"), { masters })
  return { url: `redis+cluster://${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(",")}`, stop: cluster.stop }
}
