/**
 * Deterministic sample rows of every storage kind (seeded, no clock), for the storage
 * tests and benchmarks. Not a provider: the backfill's synthetic provider is the source of
 * data the engine stores.
 */
import type { Interval } from "../../config/schema.ts"
import type { Bar, CorporateAction, NewsItem, SentimentPoint } from "../domain/rows.ts"

export const INTERVAL_MS: Record<Exclude<Interval, "tick">, number> = {
  "1day": 86_400_000, "1hour": 3_600_000, "5min": 300_000, "1min": 60_000
}

/** A small PRNG (mulberry32): same seed, same rows. */
const random = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const seedOf = (s: string) => [...s].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 17)

/** `count` consecutive bars of one series starting at `from` (aligned down to the interval). */
export const sampleBars = (symbol: string, interval: Exclude<Interval, "tick">, from: number, count: number): Bar[] => {
  const step = INTERVAL_MS[interval]
  const start = Math.floor(from / step) * step
  const rnd = random(seedOf(`${symbol}|${interval}|${start}`))
  const out: Bar[] = []
  let price = 50 + rnd() * 150
  for (let i = 0; i < count; i++) {
    const open = price
    const close = Math.max(1, open * (1 + (rnd() - 0.5) * 0.04))
    const high = Math.max(open, close) * (1 + rnd() * 0.01)
    const low = Math.min(open, close) * (1 - rnd() * 0.01)
    out.push({
      symbol, interval, ts: start + i * step, open, high, low, close,
      volume: Math.round(rnd() * 1e6), vwap: (open + close + high + low) / 4, trades: Math.round(rnd() * 5000)
    })
    price = close
  }
  return out
}

/** `count` news items of one symbol, spread over [from, to). Titles carry tabs, quotes and newlines on purpose. */
export const sampleNews = (symbol: string, from: number, to: number, count: number): NewsItem[] => {
  const rnd = random(seedOf(`news|${symbol}|${from}`))
  return Array.from({ length: count }, (_, i) => ({
    symbol, id: `${symbol}-${from}-${i}`, published_at: Math.floor(from + rnd() * (to - from)),
    title: `${symbol} item ${i}${i % 3 === 0 ? "\twith \"quotes\",\nand a \\ backslash" : ""}`,
    publisher: i % 2 === 0 ? "Wire" : "Daily", url: `https://example.com/${symbol}/${i}`
  }))
}

/** One action per 90 days over [from, to), alternating split and dividend, at 00:00 UTC. */
export const sampleActions = (symbol: string, from: number, to: number): CorporateAction[] => {
  const day = 86_400_000
  const out: CorporateAction[] = []
  for (let t = Math.ceil(from / day) * day, i = 0; t < to; t += 90 * day, i++) {
    out.push({ symbol, kind: i % 2 === 0 ? "dividend" : "split", ex_date: t, value: i % 2 === 0 ? 0.25 + i / 100 : 2 })
  }
  return out
}

/** Hourly sentiment points of one symbol over [from, to). */
export const sampleSentiment = (symbol: string, from: number, to: number): SentimentPoint[] => {
  const rnd = random(seedOf(`sent|${symbol}|${from}`))
  const out: SentimentPoint[] = []
  for (let t = Math.ceil(from / 3_600_000) * 3_600_000; t < to; t += 3_600_000) {
    out.push({ symbol, source: "reddit", ts: t, score: rnd() * 2 - 1, mentions: Math.round(rnd() * 100) })
  }
  return out
}
