/**
 * Latency recording with HdrHistogram (microsecond resolution, 3 significant digits).
 * Each sample is recorded twice: raw, from the moment the event was actually sent, and
 * corrected for coordinated omission, from the moment the open-loop schedule intended to
 * send it, so a stalled sender cannot hide the queueing its stall caused. For sources that
 * only know actual send times, `correctedCopy` applies HdrHistogram's own correction.
 */
import * as hdr from "hdr-histogram-js"

export type Histogram = hdr.Histogram

export const newHistogram = (): Histogram =>
  hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 })

/** Milliseconds (float) to whole microseconds, at least 1. */
export const toMicros = (ms: number): number => Math.max(1, Math.round(ms * 1000))

export interface LatencyStats {
  readonly count: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

/**
 * A percentile is reported only when at least this many samples lie above it: below that,
 * it is the value of a handful of samples and moves from run to run with one stall.
 */
export const MIN_SAMPLES_ABOVE = 100

/** The percentiles (of 50, 99, 99.9) a histogram of `count` samples can report. */
export const reportable = (count: number, percentile: number): boolean => count >= samplesFor(percentile)

/** Samples needed for `percentile` to be reportable (rounded first: 100 - 99.9 is not 0.1 in floating point). */
export const samplesFor = (percentile: number): number =>
  Math.ceil(Math.round(((MIN_SAMPLES_ABOVE * 100) / (100 - percentile)) * 1e6) / 1e6)

/** Percentiles in milliseconds. */
export const statsOf = (h: Histogram): LatencyStats => ({
  count: h.totalCount,
  p50: h.getValueAtPercentile(50) / 1000,
  p99: h.getValueAtPercentile(99) / 1000,
  p999: h.getValueAtPercentile(99.9) / 1000,
  max: h.maxValue / 1000
})

export class LatencyRecorder {
  readonly raw = newHistogram()
  readonly corrected = newHistogram()

  /** Times in milliseconds on one monotonic clock. */
  record(intendedMs: number, sentMs: number, seenMs: number): void {
    this.raw.recordValue(toMicros(seenMs - sentMs))
    this.corrected.recordValue(toMicros(seenMs - intendedMs))
  }

  summary(): { readonly raw: LatencyStats; readonly corrected: LatencyStats } {
    return { raw: statsOf(this.raw), corrected: statsOf(this.corrected) }
  }

  destroy(): void {
    this.raw.destroy()
    this.corrected.destroy()
  }
}

/** HdrHistogram's correction of a raw histogram, for a source sampled every `intervalMs`. */
export const correctedCopy = (raw: Histogram, intervalMs: number): Histogram =>
  raw.copyCorrectedForCoordinatedOmission(toMicros(intervalMs))
