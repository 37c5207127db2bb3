/**
 * The configured provider (`backfill.provider`) with its shared rate limiter. The Polygon
 * API key comes from the environment (POLYGON_API_KEY), never from a config file.
 */
import type { Config } from "../../../config/schema.ts"
import { calendarOf } from "../../domain/calendar.ts"
import { openLimiter, type Limiter, type LimiterFailure } from "../rate-limit.ts"
import { polygonProvider } from "./polygon.ts"
import type { Provider } from "./provider.ts"
import { syntheticProvider } from "./synthetic.ts"

export type { Provider } from "./provider.ts"

export interface OpenedProvider {
  readonly provider: Provider
  readonly limiter: Limiter
}

export const openProvider = (
  config: Config, redisUrl: string, env: NodeJS.ProcessEnv = process.env, onLimiterFailure?: LimiterFailure
): OpenedProvider => {
  const name = config.backfill.provider
  const limiter = openLimiter(redisUrl, config.redis.prefix, name, config.providers[name].rate_limit, onLimiterFailure)
  try {
    const provider = name === "polygon"
      ? polygonProvider({
          baseUrl: config.providers.polygon.base_url,
          apiKey: env["POLYGON_API_KEY"] ?? "",
          pageLimit: config.providers.polygon.page_limit,
          timeoutMs: config.providers.polygon.timeout_ms
        }, limiter)
      : syntheticProvider(config.providers.synthetic.seed, limiter, { calendar: calendarOf(config.providers.synthetic.calendar) })
    return { provider, limiter }
  } catch (e) {
    // close reports its own failure through onLimiterFailure; the error thrown here is the one that matters.
    void limiter.close()
    throw e
  }
}
