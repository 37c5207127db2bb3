/**
 * The contract between the bench runner and its scenarios. A scenario measures its figure
 * and the figure's baseline in the same run, on the same machine, and reports both; the
 * runner prints them side by side with the ratio and writes bench/results/<date>.json.
 */
export interface BenchContext {
  readonly redisUrl: string
  readonly databaseUrl: string
  /** A scratch folder for this scenario, removed afterwards. */
  readonly tmpDir: string
  /** "tiny" for the smoke test (seconds, no figure meaningful), "full" for real figures. */
  readonly size: "tiny" | "full"
  readonly log: (message: string) => void
}

export interface BenchFigure {
  readonly scenario: string
  readonly metric: string
  readonly value: number
  readonly unit: string
  /** The baseline measured in the same run, when the figure has one. */
  readonly baseline?: { readonly name: string; readonly value: number }
  /** value / baseline.value (or its inverse where lower is better: say so in `goal`). */
  readonly ratio?: number
  /** The goal in words, e.g. "≥ 60% of raw COPY". */
  readonly goal?: string
  readonly pass?: boolean
}

export interface Scenario {
  readonly name: string
  readonly description: string
  readonly run: (ctx: BenchContext) => Promise<BenchFigure[]>
}
