/**
 * For probes run with --expose-gc: collect garbage until the heap is quiet, so that a
 * heap figure measures what is held, not what is waiting to be collected.
 */
const gc = (globalThis as { gc?: () => void }).gc

export const settle = async (): Promise<void> => {
  if (!gc) throw new Error("run with --expose-gc")
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((r) => setTimeout(r, 20))
  }
}
