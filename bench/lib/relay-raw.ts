/**
 * The raw two-hop baseline's middle process: XREADGROUP from one stream, XADD an output
 * (with the source ID as `cause`) to another and XACK, batch by batch, no processing, on
 * the raw baselines' client (raw-clients.ts). The same read/write pattern as the engine
 * minus the engine. `matched` emits only for the events the engine emits for and reads in
 * batches of the engine's size, so both carry the same output volume; `all` emits for
 * every event. Run as a child process:
 *   relay-raw.ts <redisUrl> <inStream> <outStream> <matched|all> <count> <blockMs>
 */
import { owesCommand, seqOfId } from "./latency-workload.ts"
import { RAW_CLIENT, openRawClient } from "./raw-clients.ts"

const [url, input, output, mode, count, block] = process.argv.slice(2)
if (!url || !input || !output || (mode !== "matched" && mode !== "all") || !(Number(count) > 0) || !(Number(block) > 0)) {
  process.stderr.write("usage: relay-raw.ts <redisUrl> <inStream> <outStream> <matched|all> <count> <blockMs>\n")
  process.exit(2)
}
const reads = await openRawClient(RAW_CLIENT, url)
const writes = await openRawClient(RAW_CLIENT, url)
const GROUP = "relay"
// BUSYGROUP: the group is there from an earlier run, which is fine.
await reads.create(input, GROUP).catch((e: unknown) => { if (!String(e).includes("BUSYGROUP")) throw e })
let running = true
process.on("SIGTERM", () => { running = false })
process.stdout.write(`ready (${RAW_CLIENT})\n`)
while (running) {
  const entries = await reads.readGroup(input, GROUP, "r", Number(count), Number(block))
  if (entries.length === 0) continue
  const adds = entries.filter(([id]) => mode === "all" || owesCommand(seqOfId(id))).map(([id, fields]) => ["cause", id, ...fields])
  await writes.relay(input, GROUP, entries.map(([id]) => id), output, adds)
}
await reads.close()
await writes.close()
