/**
 * The raw two-hop baseline's middle process: XREADGROUP from one stream, XADD each entry
 * (with its source ID as `cause`) to another and XACK, batch by batch, no processing.
 * The same read/write pattern as the engine minus the engine. Run as a child process:
 *   relay-raw.ts <redisUrl> <inStream> <outStream>
 */
import { Redis } from "ioredis"

const [url, input, output] = process.argv.slice(2)
if (!url || !input || !output) {
  process.stderr.write("usage: relay-raw.ts <redisUrl> <inStream> <outStream>\n")
  process.exit(2)
}
const reads = new Redis(url)
const writes = new Redis(url)
const GROUP = "relay"
try {
  await writes.xgroup("CREATE", input, GROUP, "0", "MKSTREAM")
} catch (e) {
  if (!String(e).includes("BUSYGROUP")) throw e
}
let running = true
process.on("SIGTERM", () => { running = false })
process.stdout.write("ready\n")
type Reply = [string, [string, string[]][]][] | null
while (running) {
  const reply = (await reads.xreadgroup("GROUP", GROUP, "r", "COUNT", 500, "BLOCK", 200, "STREAMS", input, ">")) as Reply
  const entries = reply?.[0]?.[1] ?? []
  if (entries.length === 0) continue
  const p = writes.multi()
  for (const [id, fields] of entries) p.xadd(output, "*", "cause", id, ...fields)
  p.xack(input, GROUP, ...entries.map(([id]) => id))
  await p.exec()
}
reads.disconnect()
await writes.quit()
