/**
 * The configuration's Effect Schema: the one home of every option's type and range.
 * Decoding only; reading files and the environment is config/load.ts.
 */
import { Schema } from "effect"
import { parseDuration } from "../src/domain/time.ts"

import { DATA_TYPES, INTERVALS } from "../src/domain/data-types.ts"
import { CALENDAR_CODES } from "../src/domain/calendar.ts"
import { isClusterUrl, parseRedisUrl, RedisUrlError } from "./redis-url.ts"

export { DATA_TYPES, INTERVALS }
export type { DataType, Interval } from "../src/domain/data-types.ts"

const Unit = Schema.Number.check(Schema.isFinite(), Schema.isBetween({ minimum: 0, maximum: 1 }))
const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Days = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const ScoreName = Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9_]{0,31}$/, { message: "a score name is lower case letters, digits and _ (at most 32)" }))

const DurationText = Schema.String.check(
  Schema.makeFilter((s: string) => parseDuration(s) !== undefined || `expected a duration such as 15m, 90s, 2h or 1d, got "${s}"`)
)

export const LayerRule = Schema.Struct({
  score: ScoreName,
  promote_at: Unit,
  demote_below: Unit
}).check(
  Schema.makeFilter((r) => r.demote_below <= r.promote_at || `demote_below (${r.demote_below}) must not exceed promote_at (${r.promote_at})`)
)

/** A duration, or "off" (lifecycle.stale_after: no staleness demotion). */
const DurationOrOff = Schema.String.check(
  Schema.makeFilter((s: string) => s.trim() === "off" || (parseDuration(s) ?? 0) > 0 || `expected a duration such as 5d, 12h or 90m, or off, got "${s}"`)
)

/** A trading calendar (src/domain/calendar.ts). */
const CalendarCode = Schema.Literals(CALENDAR_CODES)

export const Lifecycle = Schema.Struct({
  layers: Schema.Struct({ L1: LayerRule, L2: LayerRule, L3: LayerRule }),
  confirmations: PositiveInt,
  min_dwell: DurationText,
  stale_after: DurationOrOff,
  /** Whose market time stale_after counts; "none": stream time, for markets that never close. */
  calendar: Schema.Union([CalendarCode, Schema.Literal("none")])
})

const Interval = Schema.Literals(INTERVALS)
export const DataTypePolicy = Schema.Struct({
  hot_days: Schema.Union([Days, Schema.Struct({
    "1day": Schema.optionalKey(Days),
    "1hour": Schema.optionalKey(Days),
    "5min": Schema.optionalKey(Days),
    "1min": Schema.optionalKey(Days),
    tick: Schema.optionalKey(Days)
  })]),
  cold_days: Days,
  intervals: Schema.optionalKey(Schema.Array(Interval))
})
const LayerPolicy = Schema.Struct({
  market_data: Schema.optionalKey(DataTypePolicy),
  intraday: Schema.optionalKey(DataTypePolicy),
  news: Schema.optionalKey(DataTypePolicy),
  corporate_actions: Schema.optionalKey(DataTypePolicy),
  social_sentiment: Schema.optionalKey(DataTypePolicy)
})

/** Cold tier (object store) and tiering schedule; see docs/storage.md. */
export const Storage = Schema.Struct({
  /** Empty in the file means `<data_dir>/lake`; the loader fills it in. */
  lake: Schema.String,
  s3: Schema.Struct({
    bucket: Schema.String,
    prefix: Schema.String,
    endpoint: Schema.String,
    region: Schema.String,
    force_path_style: Schema.Boolean
  }),
  tiering: Schema.Struct({
    every: DurationText,
    on_demotion: Schema.Boolean
  })
})
export type StorageConfig = typeof Storage.Type

/** Backfill workers (src/backfill); see docs/backfill.md. */
const NonNegInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
export const Backfill = Schema.Struct({
  enabled: Schema.Boolean,
  workers: NonNegInt,
  provider: Schema.Literals(["synthetic", "polygon"]),
  max_deliveries: PositiveInt,
  claim_idle_ms: PositiveInt,
  /** A command whose work has settled no step (a statement, a fetch, a write) for this long is given up (src/backfill/stall.ts). */
  stall_ms: PositiveInt,
  block_ms: PositiveInt,
  retry: Schema.Struct({ base_ms: PositiveInt, max_delay_ms: PositiveInt, max_attempts: NonNegInt, max_rate_limited_waits: NonNegInt }),
  chunk_days: Schema.Struct({ "1day": PositiveInt, "1hour": PositiveInt, "5min": PositiveInt, "1min": PositiveInt, tick: PositiveInt, events: PositiveInt }),
  /** The healing pass (src/heal): how often it runs inside the workers (0m: never), attempts per session. */
  heal: Schema.Struct({ every: DurationText, max_attempts: PositiveInt })
})
const RateLimit = Schema.Struct({
  requests_per_second: Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0)),
  max_concurrent: NonNegInt,
  headroom: Schema.optionalKey(Schema.Number.check(Schema.isFinite(), Schema.isBetween({ minimum: 0, maximum: 1 })))
})
export const Providers = Schema.Struct({
  synthetic: Schema.Struct({ seed: Schema.Int, calendar: CalendarCode, rate_limit: RateLimit }),
  polygon: Schema.Struct({ base_url: Schema.String, page_limit: PositiveInt, timeout_ms: PositiveInt, calendar: CalendarCode, rate_limit: RateLimit })
})
/** The scanner archive (scores entries to the lake before trimming); see docs/storage.md. */
export const Archive = Schema.Struct({
  enabled: Schema.Boolean,
  every: DurationText,
  max_rows: PositiveInt,
  /** The archive thread's nice value (0 = the engine's own priority, 19 = lowest). */
  nice: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 19 }))
})
export type ArchiveConfig = typeof Archive.Type
export type BackfillConfig = typeof Backfill.Type

/**
 * Retention of a stream in Redis (docs/engine.md, "Trimming"): entries newer than `age` of
 * entry time (counted back from the newest entry) and the newest `count` entries stay;
 * both are floors, the larger set wins ("0s" and 0 switch a rule off).
 */
const Keep = Schema.Struct({ age: DurationText, count: NonNegInt })
const StreamRetention = Schema.Struct({ keep: Keep })
/** A dead-letter stream keeps its newest `cap` entries; older ones are dropped and counted. */
const DeadLetterCap = Schema.Struct({ cap: PositiveInt })
export const Streams = Schema.Struct({
  trim: Schema.Struct({ enabled: Schema.Boolean, every: DurationText }),
  scores: StreamRetention,
  lifecycle: StreamRetention,
  backfill: StreamRetention,
  scores_dead: DeadLetterCap,
  lifecycle_dead: DeadLetterCap,
  backfill_dead: DeadLetterCap
})
export type StreamsConfig = typeof Streams.Type
export type ProvidersConfig = typeof Providers.Type

export const Config = Schema.Struct({
  lifecycle: Lifecycle,
  retention: Schema.Struct({ L0: LayerPolicy, L1: LayerPolicy, L2: LayerPolicy, L3: LayerPolicy }),
  /** How many partitions the install's symbols are split into (streams/partition.ts); fixed for its life. */
  partitions: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 256 })),
  redis: Schema.Struct({
    /** redis://…, rediss://…, or redis+cluster://host:port,host:port… for a Redis Cluster (config/redis-url.ts). */
    url: Schema.String.check(Schema.makeFilter((s: string) => {
      try {
        parseRedisUrl(s)
        return true
      } catch (e) {
        if (e instanceof RedisUrlError) return e.message
        throw e
      }
    })),
    prefix: Schema.String.check(Schema.isPattern(/^[a-zA-Z0-9_.\-]{1,64}$/, { message: "a prefix is 1-64 letters, digits, _ . -" }))
  }),
  postgres: Schema.Struct({
    url: Schema.String,
    /** Server-side bound of each statement of the services' pools (`statement_timeout`); 0: none. */
    statement_timeout_ms: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    schema: Schema.String.check(Schema.isPattern(/^[a-z_][a-z0-9_]{0,62}$/, { message: "a schema name is lower case letters, digits and _" }))
  }),
  ingest: Schema.Struct({
    batch_size: PositiveInt,
    block_ms: PositiveInt,
    max_fields: PositiveInt,
    max_value_length: PositiveInt,
    snapshot_cache: PositiveInt,
    /** Read and compute the next batch while the atomic step of the last one runs. */
    overlap: Schema.Boolean,
    /**
     * How each actor is stepped: "pure", the lifecycle's rules written out without XState
     * (machines/pure-step.ts, proven equal to the machine); "xstate", XState's own transition.
     */
    step: Schema.Literals(["pure", "xstate"])
  }),
  /** The partition lease: one engine per install applies steps; renewed every third of the TTL. */
  lease: Schema.Struct({
    ttl_ms: PositiveInt,
    /** A member that joined less than this long ago (Redis TIME) is not yet given partitions, unless no member is older. */
    join_debounce_ms: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
  }),
  projector: Schema.Struct({ batch_size: PositiveInt }),
  http: Schema.Struct({
    port: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })),
    host: Schema.String
  }),
  backfill: Backfill,
  providers: Providers,
  storage: Storage,
  streams: Streams,
  archive: Archive,
  bench: Schema.Struct({
    /** `npm run bench:slo` fails when corrected e2e p99 at 5k events/s exceeds this. */
    slo_p99_ms: Schema.Number.check(Schema.isGreaterThan(0))
  }),
  data_dir: Schema.String
}).check(
  // One partition keeps the ingress streams in its atomic step's script, keys of two slots.
  Schema.makeFilter((c) => !(c.partitions === 1 && isClusterUrl(c.redis.url)) ||
    "redis.url names a Redis Cluster: an install on a Cluster needs partitions of 2 or more (one partition's atomic step also writes the ingress streams, which a Cluster keeps in another slot)")
)
export type Config = typeof Config.Type
export type LifecycleConfig = typeof Lifecycle.Type
export type RetentionPolicy = Config["retention"]
