/**
 * A progress bar on stderr for long commands (cli-progress), shown only on a terminal so
 * piped output and --json stay clean. With an unknown total it shows a running count.
 */
import cliProgress from "cli-progress"

export interface Progress {
  readonly update: (value: number) => void
  readonly stop: () => void
}

const NONE: Progress = { update: () => {}, stop: () => {} }

export const progressBar = (label: string, total: number | undefined, enabled = process.stderr.isTTY === true): Progress => {
  if (!enabled) return NONE
  const known = total !== undefined && total > 0
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: known
      ? `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`
      : `${label} {value} entries | {duration_formatted}`,
    hideCursor: true,
    clearOnComplete: false,
    fps: 5
  }, cliProgress.Presets.shades_classic)
  bar.start(known ? total : 0, 0)
  return { update: (v) => bar.update(v), stop: () => bar.stop() }
}
