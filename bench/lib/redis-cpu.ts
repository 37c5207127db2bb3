/**
 * Redis' own account of the CPU it spent, read from INFO before and after a measurement:
 * per command (INFO commandstats: calls and µs; a command a script runs is counted under
 * its own name too, and the script's EVALSHA time includes it) and for the whole server
 * (INFO cpu, used_cpu_user + used_cpu_sys). Differences only: the bench's Redis is private
 * but long-lived, so absolute counters mean nothing. Reads; never resets a statistic.
 */
import type { Redis } from "ioredis"

export interface CommandCost {
  readonly calls: number
  readonly usec: number
}

export interface RedisCpu {
  /** Per lower-case command name. */
  readonly commands: ReadonlyMap<string, CommandCost>
  /** used_cpu_user + used_cpu_sys, µs. */
  readonly serverUsec: number
}

const infoFields = (text: string): Map<string, string> => {
  const out = new Map<string, string>()
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":")
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1))
  }
  return out
}

export const readRedisCpu = async (redis: Redis): Promise<RedisCpu> => {
  const [stats, cpu] = await Promise.all([redis.info("commandstats"), redis.info("cpu")])
  const commands = new Map<string, CommandCost>()
  for (const [key, value] of infoFields(stats)) {
    if (!key.startsWith("cmdstat_")) continue
    // calls=12,usec=345,usec_per_call=28.75,rejected_calls=0,failed_calls=0
    const f = Object.fromEntries(value.split(",").map((kv) => kv.split("=") as [string, string]))
    commands.set(key.slice("cmdstat_".length).toLowerCase(), { calls: Number(f["calls"] ?? 0), usec: Number(f["usec"] ?? 0) })
  }
  const c = infoFields(cpu)
  const serverUsec = (Number(c.get("used_cpu_user") ?? 0) + Number(c.get("used_cpu_sys") ?? 0)) * 1e6
  return { commands, serverUsec }
}

/** What `after` adds to `before`. */
export const redisCpuSince = (before: RedisCpu, after: RedisCpu): RedisCpu => {
  const commands = new Map<string, CommandCost>()
  for (const [name, a] of after.commands) {
    const b = before.commands.get(name) ?? { calls: 0, usec: 0 }
    if (a.calls > b.calls) commands.set(name, { calls: a.calls - b.calls, usec: a.usec - b.usec })
  }
  return { commands, serverUsec: after.serverUsec - before.serverUsec }
}

/** µs of the named commands together (scripts: "evalsha" and "eval"). */
export const usecOf = (cpu: RedisCpu, ...names: string[]): number =>
  names.reduce((sum, n) => sum + (cpu.commands.get(n)?.usec ?? 0), 0)
