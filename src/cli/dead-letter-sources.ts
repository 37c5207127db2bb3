/** The dead-letter streams the `dead-letters` commands read, by the name `--source` takes. Kept apart so the CLI's declarations load without the command. */
export { DEAD_LETTER_SOURCES as SOURCES, type DeadLetterSource as Source } from "../../streams/stored-dead-letter.ts"
