/**
 * The BullMQ peer's middle process: a Worker on one queue that adds each job's data to a
 * second queue, the flow a user would build with BullMQ for "score in, command out".
 * Run as a child process:  relay-bullmq.ts <redisUrl> <bullPrefix>
 */
import { Queue, Worker } from "bullmq"
import { bullConnection } from "./bull-connection.ts"

const [url, prefix] = process.argv.slice(2)
if (!url || !prefix) {
  process.stderr.write("usage: relay-bullmq.ts <redisUrl> <bullPrefix>\n")
  process.exit(2)
}
const connection = bullConnection(url)
const out = new Queue("commands", { connection, prefix })
const worker = new Worker("scores", async (job) => {
  await out.add("command", job.data, { removeOnComplete: true, removeOnFail: true })
}, { connection, prefix, concurrency: 100, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } })
await worker.waitUntilReady()
process.stdout.write("ready\n")
process.on("SIGTERM", () => {
  void worker.close().then(() => out.close()).then(() => process.exit(0))
})
