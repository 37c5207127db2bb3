/** The dead-letter streams the `dead-letters` commands read, by the name `--source` takes. Kept apart so the CLI's declarations load without the command. */
export const SOURCES = ["scores", "lifecycle", "backfill"] as const
export type Source = (typeof SOURCES)[number]
