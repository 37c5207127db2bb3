/**
 * An ingress router in a process of its own, for the crash tests: the engine's Router and
 * its lease (taken and renewed by keepLease), routing until it is killed.
 * Environment: REDIS_URL, STRATA_PREFIX (as test/helpers/namespace.ts sets them) and
 * ROUTER_OVERRIDES, a JSON config override (partitions, ingest, lease).
 */
import { Effect } from "effect"
import { loadConfig } from "../../config/load.ts"
import { loopForever } from "../../src/app/engine-loop.ts"
import { keepLease } from "../../src/engine/lease-keeper.ts"
import { Router, routerLease } from "../../src/engine/router.ts"
import { createLogger } from "../../src/services/logger.ts"
import { openRedis } from "../../src/services/redis.ts"

// A test that failed or timed out may leave this process behind: it ends with its parent.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(1)
}, 500).unref()

const config = loadConfig({ env: process.env, overrides: JSON.parse(process.env["ROUTER_OVERRIDES"] ?? "{}") as Record<string, unknown> })
const log = createLogger("router-child")
const writes = openRedis(config.redis.url, "router-child-writes")
const router = new Router(openRedis(config.redis.url, "router-child-reads"), writes, config, log, routerLease(writes, config))
await router.init()
Effect.runFork(keepLease(router.lease, log))
// The engine's own loop: a failed step is logged and retried on the engine's schedule.
await Effect.runPromise(loopForever("router", () => router.runOnce(), log))
