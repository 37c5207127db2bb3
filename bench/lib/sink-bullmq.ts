/**
 * The BullMQ peer's last hop, in its own process: a Worker on the `commands` queue that
 * reports each job's seq with the time it ran, as `<seq> <epoch ms>` lines on stdout
 * (flushed every few milliseconds), so no BullMQ worker shares the generator's CPU.
 * Run as a child process:  sink-bullmq.ts <redisUrl> <bullPrefix>
 */
import { Worker } from "bullmq"
import { bullConnection } from "./bull-connection.ts"

const [url, prefix] = process.argv.slice(2)
if (!url || !prefix) {
  process.stderr.write("usage: sink-bullmq.ts <redisUrl> <bullPrefix>\n")
  process.exit(2)
}
const connection = bullConnection(url)
let pending: string[] = []
const flush = () => {
  if (pending.length === 0) return
  process.stdout.write(`${pending.join("\n")}\n`)
  pending = []
}
const timer = setInterval(flush, 5)
const worker = new Worker("commands", async (job) => {
  pending.push(`${(job.data as { seq: number }).seq} ${performance.timeOrigin + performance.now()}`)
}, { connection, prefix, concurrency: 100, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } })
await worker.waitUntilReady()
process.stdout.write("ready\n")
process.on("SIGTERM", () => {
  void worker.close().then(() => { clearInterval(timer); flush(); process.exit(0) })
})
