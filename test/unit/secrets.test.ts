/**
 * services/secrets.ts: every configured secret value is scrubbed, as written, URL-encoded
 * and JSON-escaped; passwords are taken out of store URLs; a value inside a longer one
 * does not leave the rest behind; too-short values are left alone. No I/O.
 */
import { describe, expect, it } from "vitest"
import { addSecrets, learnSecrets, redact, secretsOfEnv, urlPassword } from "../../src/services/secrets.ts"

describe("secret redaction", () => {
  it("reads the secrets an environment configures", () => {
    expect(secretsOfEnv({
      POLYGON_API_KEY: "poly-key-1", AWS_SECRET_ACCESS_KEY: "aws/secret+key", AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      REDIS_URL: "redis://:redis-pw-9@host:6379", DATABASE_URL: "postgres://app:pg%40pw%2F1@db/strata", OTHER: "not-a-secret"
    }).sort()).toEqual(["AKIAEXAMPLE", "aws/secret+key", "pg@pw/1", "poly-key-1", "redis-pw-9"])
    expect(urlPassword("redis://127.0.0.1:6379")).toBeUndefined()
    expect(urlPassword("postgres://postgres@127.0.0.1:5432/postgres")).toBeUndefined()
    expect(urlPassword("redis://user:@host")).toBeUndefined()
  })

  it("scrubs every form of every value", () => {
    learnSecrets({ POLYGON_API_KEY: "unit-poly-key", AWS_SECRET_ACCESS_KEY: 'unit"aws\\secret' }, ["postgres://u:unit%2Fpg@db/x"])
    expect(redact("Bearer unit-poly-key refused")).toBe("Bearer [redacted] refused")
    expect(redact("a=unit-poly-key&b=unit-poly-key")).toBe("a=[redacted]&b=[redacted]")
    expect(redact("pw unit/pg or unit%2Fpg")).toBe("pw [redacted] or [redacted]")
    expect(redact(JSON.stringify({ msg: 'key unit"aws\\secret' }))).toBe('{"msg":"key [redacted]"}')
    expect(redact("nothing to hide")).toBe("nothing to hide")
  })

  it("replaces the longest value first and ignores too-short ones", () => {
    addSecrets("unit-abcd", "unit-abcd-efgh", "xy")
    expect(redact("unit-abcd-efgh unit-abcd")).toBe("[redacted] [redacted]")
    expect(redact("xy 12")).toBe("xy 12")
  })
})
