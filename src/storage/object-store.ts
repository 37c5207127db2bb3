/**
 * The cold tier's object store: one small interface over a local folder and S3.
 * Objects are written whole and atomically (local: temp file + rename; S3: one PUT, or a
 * multipart upload that only becomes visible when completed), so a reader never sees half
 * an object. Ranged reads use explicit byte ranges, `bytes=a-b`, never suffix ranges
 * (some S3-compatible servers mishandle `bytes=-n`).
 * Does not know about Parquet or key layout (parquet.ts, layout.ts).
 */
import { randomBytes } from "node:crypto"
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises"
import { dirname, join, relative, resolve, sep } from "node:path"
import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import type { StorageConfig } from "../../config/schema.ts"

/** A byte range, `end` exclusive (like Uint8Array.slice). */
export interface ByteRange { readonly start: number; readonly end: number }

export interface ObjectStore {
  /** Where objects live, for messages: a folder or s3://bucket/prefix. */
  readonly location: string
  /** Write the whole object atomically, replacing any previous one. */
  put(key: string, bytes: Uint8Array): Promise<void>
  /** The object's bytes (or only `range`), undefined when it does not exist. */
  get(key: string, range?: ByteRange): Promise<Uint8Array | undefined>
  size(key: string): Promise<number | undefined>
  /** Keys starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>
  /** Remove the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>
  /** Release clients; the store is unusable afterwards. */
  close(): Promise<void>
}

const checkKey = (key: string): string => {
  if (key === "" || key.startsWith("/") || key.split("/").some((p) => p === ".." || p === "." || p === "")) {
    throw new Error(`invalid object key "${key}"`)
  }
  return key
}

// Temporary files carry this marker so listings skip a crashed writer's leftovers.
const TMP_MARK = ".tmp-"

// ---------------------------------------------------------------- local folder

export const localObjectStore = (root: string): ObjectStore => {
  const base = resolve(root)
  const pathOf = (key: string) => join(base, ...checkKey(key).split("/"))
  const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT"
  return {
    location: base,
    async put(key, bytes) {
      const path = pathOf(key)
      await mkdir(dirname(path), { recursive: true })
      const tmp = `${path}${TMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`
      // fsync before rename: after a crash the name points at a complete file or at the old one.
      const fh = await open(tmp, "w")
      try {
        await fh.writeFile(bytes)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, path)
    },
    async get(key, range) {
      const path = pathOf(key)
      let fh
      try {
        fh = await open(path, "r")
      } catch (e) {
        if (isMissing(e)) return undefined
        throw e
      }
      try {
        if (!range) return new Uint8Array(await fh.readFile())
        const length = Math.max(0, range.end - range.start)
        const out = new Uint8Array(length)
        let done = 0
        while (done < length) {
          const { bytesRead } = await fh.read(out, done, length - done, range.start + done)
          if (bytesRead === 0) break
          done += bytesRead
        }
        return done === length ? out : out.subarray(0, done)
      } finally {
        await fh.close()
      }
    },
    async size(key) {
      try {
        return (await stat(pathOf(key))).size
      } catch (e) {
        if (isMissing(e)) return undefined
        throw e
      }
    },
    async list(prefix) {
      const out: string[] = []
      const walk = async (dir: string): Promise<void> => {
        let entries
        try {
          entries = await readdir(dir, { withFileTypes: true })
        } catch (e) {
          if (isMissing(e)) return
          throw e
        }
        for (const e of entries) {
          const full = join(dir, e.name)
          if (e.isDirectory()) await walk(full)
          else if (!e.name.includes(TMP_MARK)) {
            const key = relative(base, full).split(sep).join("/")
            if (key.startsWith(prefix)) out.push(key)
          }
        }
      }
      // Walk only below the prefix's folder part: listing one symbol must not scan the lake.
      const slash = prefix.lastIndexOf("/")
      await walk(slash < 0 ? base : join(base, ...prefix.slice(0, slash).split("/")))
      return out.sort()
    },
    async delete(key) {
      await rm(pathOf(key), { force: true })
    },
    async close() {}
  }
}

// ---------------------------------------------------------------- S3

export interface S3Options {
  readonly bucket: string
  readonly prefix: string
  readonly region: string
  readonly endpoint?: string | undefined
  readonly forcePathStyle?: boolean | undefined
  /** Explicit credentials (tests); otherwise the SDK's chain reads AWS_ACCESS_KEY_ID etc. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string } | undefined
}

// Objects up to this size go in one PUT; larger ones as multipart parts of this size.
const PART_SIZE = 8 * 1024 * 1024

export const s3ObjectStore = (options: S3Options): ObjectStore => {
  if (!options.bucket) throw new Error("storage.s3.bucket is empty: name the bucket for the cold tier")
  const config: S3ClientConfig = {
    region: options.region,
    // Checksums only when required: some S3-compatible servers store streamed,
    // checksummed uploads corrupted.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED"
  }
  if (options.endpoint) config.endpoint = options.endpoint
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle
  if (options.credentials) config.credentials = options.credentials
  const client = new S3Client(config)
  const Bucket = options.bucket
  const full = (key: string) => `${options.prefix}${checkKey(key)}`
  const notFound = (e: unknown) => {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } }
    return err.name === "NoSuchKey" || err.name === "NotFound" || err.$metadata?.httpStatusCode === 404
  }
  return {
    location: `s3://${Bucket}/${options.prefix}`,
    async put(key, bytes) {
      await new Upload({ client, params: { Bucket, Key: full(key), Body: bytes }, partSize: PART_SIZE, queueSize: 2 }).done()
    },
    async get(key, range) {
      if (range && range.end <= range.start) return new Uint8Array(0)
      try {
        const r = await client.send(new GetObjectCommand({
          Bucket, Key: full(key), ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {})
        }))
        return r.Body ? await r.Body.transformToByteArray() : new Uint8Array(0)
      } catch (e) {
        if (notFound(e)) return undefined
        throw e
      }
    },
    async size(key) {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket, Key: full(key) }))
        return r.ContentLength ?? 0
      } catch (e) {
        if (notFound(e)) return undefined
        throw e
      }
    },
    async list(prefix) {
      const out: string[] = []
      let token: string | undefined
      do {
        const r = await client.send(new ListObjectsV2Command({
          Bucket, Prefix: `${options.prefix}${prefix}`, ...(token ? { ContinuationToken: token } : {})
        }))
        for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key.slice(options.prefix.length))
        token = r.IsTruncated ? r.NextContinuationToken : undefined
      } while (token)
      return out.sort()
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: full(key) }))
    },
    async close() {
      client.destroy()
    }
  }
}

/** The configured store: S3 when `storage.s3.bucket` is set, else the local lake folder. */
export const openObjectStore = (storage: StorageConfig): ObjectStore =>
  storage.s3.bucket
    ? s3ObjectStore({
        bucket: storage.s3.bucket, prefix: storage.s3.prefix, region: storage.s3.region,
        endpoint: storage.s3.endpoint || undefined, forcePathStyle: storage.s3.force_path_style
      })
    : localObjectStore(storage.lake)

/**
 * One cheap request (a HEAD of a key that need not exist) so that a store that does not
 * answer is reported at once: reads and tiering consult the manifest first and may
 * otherwise never touch a misconfigured store.
 */
export const probeStore = async (store: ObjectStore): Promise<void> => {
  await store.size("strata-probe")
}

/** A Parquet reader's view of one object: every slice is one explicit ranged GET. */
export const objectAsyncBuffer = async (store: ObjectStore, key: string) => {
  const byteLength = await store.size(key)
  if (byteLength === undefined) return undefined
  return {
    byteLength,
    slice: async (start: number, end?: number): Promise<ArrayBuffer> => {
      const bytes = await store.get(key, { start, end: end ?? byteLength })
      if (!bytes) throw new Error(`object ${key} vanished while being read`)
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    }
  }
}
