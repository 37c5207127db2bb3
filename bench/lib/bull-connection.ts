/**
 * The BullMQ peer's Redis connection options from a Redis URL, one home for the bench's
 * generator and its two BullMQ worker processes. BullMQ's workers need
 * `maxRetriesPerRequest: null` (they block).
 */
export const bullConnection = (url: string) => {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null }
}
