import type { Metadata } from "../../store/metadata";

/**
 * Which compressed blobs are known to hold which layer (by diff id), and where they were
 * seen: recorded by pulls and pushes. A push then asks the registry for a blob it may already
 * have, mounts it from another repository of the same registry, and only compresses a layer
 * again when no known blob will do (Docker keeps the same "v2 metadata").
 */
export interface LayerBlob {
  diffId: string;
  digest: string;
  size: number;
  mediaType: string;
  registry: string;
  repository: string;
}

export class LayerDigests {
  constructor(private readonly metadata: Metadata) {
    metadata.ensureSchema(`
      CREATE TABLE IF NOT EXISTS layer_blobs (
        diff_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        registry TEXT NOT NULL,
        repository TEXT NOT NULL,
        PRIMARY KEY (diff_id, digest, registry, repository)
      );
    `);
  }

  record(blob: LayerBlob): void {
    this.metadata
      .statement("INSERT OR IGNORE INTO layer_blobs (diff_id, digest, size, media_type, registry, repository) VALUES (?, ?, ?, ?, ?, ?)")
      .run(blob.diffId, blob.digest, blob.size, blob.mediaType, blob.registry, blob.repository);
  }

  /** Known blobs of a layer on one registry, those of `repository` first. */
  onRegistry(diffId: string, registry: string, repository: string): LayerBlob[] {
    const rows = this.metadata
      .statement("SELECT * FROM layer_blobs WHERE diff_id = ? AND registry = ? ORDER BY (repository = ?) DESC")
      .all(diffId, registry, repository) as Array<{ diff_id: string; digest: string; size: number; media_type: string; registry: string; repository: string }>;
    return rows.map((r) => ({ diffId: r.diff_id, digest: r.digest, size: r.size, mediaType: r.media_type, registry: r.registry, repository: r.repository }));
  }
}
