/**
 * A private S3 server (s3rver) on a free loopback port with one bucket, its data in a
 * temporary folder, and an ObjectStore bound to it. Stopped and removed by `stop`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../../src/services/private-servers.ts"
import { s3ObjectStore, type ObjectStore } from "../../src/storage/object-store.ts"

interface S3rverInstance { run(): Promise<unknown>; close(): Promise<void> }
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance

// s3rver ships CommonJS without types.
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverCtor

/** s3rver's fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }

export interface TestS3 {
  readonly endpoint: string
  readonly bucket: string
  /** A store on the bucket; pass another prefix for another isolated view. */
  readonly store: (prefix?: string) => ObjectStore
  readonly stop: () => Promise<void>
}

export const startS3 = async (bucket = "strata-test"): Promise<TestS3> => {
  const dir = mkdtempSync(join(tmpdir(), "strata-s3-"))
  const port = await freePort()
  const server = new S3rver({
    address: "127.0.0.1", port, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }]
  })
  await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  const stores: ObjectStore[] = []
  return {
    endpoint,
    bucket,
    store: (prefix = "") => {
      const s = s3ObjectStore({ bucket, prefix, region: "us-east-1", endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS })
      stores.push(s)
      return s
    },
    stop: async () => {
      for (const s of stores) await s.close()
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
