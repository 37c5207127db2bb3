/** Real processes in tests: liveness by pid and the tree of processes below a pid (Linux /proc). */
import { readdirSync, readFileSync } from "node:fs"

/** The parent pid from /proc/<pid>/stat, or undefined once the process is gone. */
export const parentOf = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
    return Number.isInteger(ppid) ? ppid : undefined
  } catch {
    return undefined
  }
}

/** Alive and not a zombie (an exited child waiting to be reaped has stopped serving). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

/** Every process below `root` (children, their children, …), living now. */
export const descendants = (root: number): number[] => {
  const children = new Map<number, number[]>()
  for (const name of readdirSync("/proc")) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const ppid = parentOf(pid)
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid])
  }
  const out: number[] = []
  const stack = [root]
  while (stack.length > 0) {
    for (const c of children.get(stack.pop() as number) ?? []) {
      out.push(c)
      stack.push(c)
    }
  }
  return out
}
