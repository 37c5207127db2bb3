/** The shape of an exchange calendar's data (calendars/*.ts); calendar.ts reads it. Types only. */
export interface CalendarData {
  /** ISO 10383 market identifier code. */
  readonly code: string
  readonly name: string
  /** IANA time zone of the exchange's hours. */
  readonly zone: string
  /** Regular session, exchange local time, "HH:MM". */
  readonly open: string
  readonly close: string
  /** The years whose closures and early closes are listed. */
  readonly firstYear: number
  readonly lastYear: number
  /** Full-day closures on weekdays, "YYYY-MM-DD" → name. */
  readonly holidays: Readonly<Record<string, string>>
  /** Sessions that close early, "YYYY-MM-DD" → local close time and why. */
  readonly earlyCloses: Readonly<Record<string, { readonly close: string; readonly name: string }>>
}
