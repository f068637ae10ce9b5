import * as z from 'zod/mini';

/**
 * The latest-version index consumers read (docs/index-and-notices.md): one document per layer at
 * `<INDEX_PREFIX>layers/<layerName>.json`, and one listing of every layer at
 * `<INDEX_PREFIX>layers.json`. Both are parsed with these schemas wherever they are read, since
 * anyone who can write to the bucket can write them.
 */
export const LATEST_SCHEMA = 'oss-layer-publisher/latest/v1';
export const LISTING_SCHEMA = 'oss-layer-publisher/layers/v1';

/** Who put the zip and the manifest in the bucket, as their OSS events said. */
const uploaderSchema = z.object({ principalId: z.optional(z.string()), sourceIp: z.optional(z.string()) });

/** The newest version of a layer in one region. */
export const latestEntrySchema = z.object({
  version: z.int().check(z.positive()),
  arn: z.string(),
  codeChecksum: z.optional(z.string()),
  compatibleRuntime: z.array(z.string()),
  description: z.optional(z.string()),
  license: z.optional(z.string()),
  /** When the function decided it (the result's finishedAt). */
  publishedAt: z.string(),
  publishedBy: z.object({ zip: z.optional(uploaderSchema), manifest: z.optional(uploaderSchema) }),
  /** The zip it was built from, and the result that tells its story. */
  source: z.object({ bucket: z.string(), key: z.string(), crc64: z.optional(z.string()) }),
  resultKey: z.string(),
});
export type LatestEntry = z.infer<typeof latestEntrySchema>;

const regionsSchema = z.record(z.string(), latestEntrySchema);

/** `<INDEX_PREFIX>layers/<layerName>.json`. */
export const layerIndexSchema = z.object({
  schema: z.literal(LATEST_SCHEMA),
  layerName: z.string(),
  regions: regionsSchema,
  /** Every index entry up to this one of the layer's log is in the document (docs/index-and-notices.md). */
  seq: z.int().check(z.nonnegative()),
  updatedAt: z.string(),
});
export type LayerIndex = z.infer<typeof layerIndexSchema>;

/** One layer in the listing: its newest version and ARN per region, and where its own document is. */
export const listingEntrySchema = z.object({
  key: z.string(),
  regions: z.record(z.string(), z.object({ version: z.int().check(z.positive()), arn: z.string(), publishedAt: z.string() })),
});

/** `<INDEX_PREFIX>layers.json`. */
export const listingSchema = z.object({
  schema: z.literal(LISTING_SCHEMA),
  layers: z.record(z.string(), listingEntrySchema),
  seq: z.int().check(z.nonnegative()),
  updatedAt: z.string(),
});
export type Listing = z.infer<typeof listingSchema>;

/** One decision's entries, as the index's log records them under the audit prefix. */
export const logEntrySchema = z.object({ layerName: z.string(), regions: regionsSchema });
export type LogEntry = z.infer<typeof logEntrySchema>;
