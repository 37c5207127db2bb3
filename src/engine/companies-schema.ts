/**
 * The companies projection's tables (DDL, idempotent). `companies` keeps the legacy
 * columns, so `SELECT symbol FROM companies WHERE layer1_qualified ORDER BY
 * liquidity_score DESC` keeps working, plus `layer` and the last applied lifecycle event.
 * `layer_transitions` is the history, one row per lifecycle event.
 */
export const COMPANIES_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS companies (
     symbol            text PRIMARY KEY,
     layer             smallint NOT NULL DEFAULT 0 CHECK (layer BETWEEN 0 AND 3),
     layer1_qualified  boolean NOT NULL DEFAULT false,
     layer2_qualified  boolean NOT NULL DEFAULT false,
     layer3_qualified  boolean NOT NULL DEFAULT false,
     liquidity_score   double precision,
     catalyst_score    double precision,
     activity_score    double precision,
     layer1_updated    timestamptz,
     layer2_updated    timestamptz,
     layer3_updated    timestamptz,
     last_event_type   text,
     last_event_at     timestamptz,
     last_event_ms     bigint,
     last_event_id     text,
     last_event_id_ms  bigint,
     last_event_id_seq bigint,
     updated_at        timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX IF NOT EXISTS companies_layer1_liquidity ON companies (liquidity_score DESC) WHERE layer1_qualified`,
  `CREATE TABLE IF NOT EXISTS layer_transitions (
     symbol      text NOT NULL,
     cause       text NOT NULL,
     event_type  text NOT NULL,
     from_layer  smallint NOT NULL,
     to_layer    smallint NOT NULL,
     at          timestamptz NOT NULL,
     at_ms       bigint NOT NULL,
     scores      jsonb NOT NULL DEFAULT '{}',
     recorded_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (symbol, cause)
   )`,
  `CREATE INDEX IF NOT EXISTS layer_transitions_at ON layer_transitions (at)`
]
