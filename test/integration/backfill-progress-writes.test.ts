/**
 * An informational progress write that fails (a failed attempt's counters) does not fail
 * the work and is not swallowed: the worker counts it and logs it, and the command still
 * completes. The write is made to fail by a trigger on the real table.
 */
import { describe, expect, it } from "vitest"
import { commandFields, MANUAL_CAUSE } from "../../streams/backfill-wire.ts"
import { PROGRESS_DDL } from "../../src/backfill/progress.ts"
import { migrate } from "../../src/services/postgres.ts"
import { partitionKeys } from "../../streams/keys.ts"
import { capturedLogger, polygonBackfill, runWorkers, waitForFinished } from "../helpers/backfill-fixture.ts"

const AT = Date.UTC(2026, 0, 7, 15, 1)

describe("backfill progress writes", () => {
  const t = polygonBackfill({ backfill: { retry: { base_ms: 10, max_delay_ms: 20, max_attempts: 3, max_rate_limited_waits: 5 } } })

  it("counts and logs a failed attempt it could not record, and completes the command", async () => {
    const { ns, server } = t
    await migrate(ns.sql, ns.schema, PROGRESS_DDL)
    await ns.sql.unsafe(`
      CREATE FUNCTION refuse_failed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.failed > OLD.failed THEN RAISE EXCEPTION 'failed attempts are not recorded here'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_failed BEFORE UPDATE ON backfill_progress FOR EACH ROW EXECUTE FUNCTION refuse_failed();`)
    server.script({ status: 503 })
    const captured = capturedLogger()
    const workers = t.workers = await runWorkers(ns.config, ns, { POLYGON_API_KEY: server.apiKey }, captured.log)
    await ns.redis.xadd(partitionKeys(ns.prefix, 0).backfill, "*",
      ...commandFields({ id: "bf-pw", symbol: "AAPL", layer: 2, from: 0, dataTypes: ["market_data"], at: AT, cause: MANUAL_CAUSE, priority: 2 }))
    await waitForFinished(ns.sql, 1)
    const [row] = await ns.sql<{ status: string }[]>`SELECT status FROM backfill_progress WHERE command_id = 'bf-pw'`
    expect(row?.status).toBe("done")
    expect(workers.counters.progressWriteFailures).toBe(1)
    expect(captured.lines.filter((l) => l.includes("backfill progress write failed")).length).toBe(1)
  })
})
