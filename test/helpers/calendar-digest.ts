/** Prints every XNYS session 2000-2027 (count and a digest), for the time-zone test to compare across TZ. */
import { createHash } from "node:crypto"
import { calendarOf, sessionsIn } from "../../src/domain/calendar.ts"

const sessions = sessionsIn(calendarOf("XNYS"), { from: Date.UTC(2000, 0, 1), to: Date.UTC(2028, 0, 1) })
const text = sessions.map((s) => `${s.date} ${s.open} ${s.close}`).join("\n")
process.stdout.write(JSON.stringify({ tz: "any", sessions: sessions.length, digest: createHash("sha256").update(text).digest("hex") }))
