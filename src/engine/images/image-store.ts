import type { Metadata } from "../../store/metadata";

/**
 * The image tables. Image configs themselves are blobs in the content store (their digest is
 * the image id); these rows say which images exist, on which layers, under which names.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS images (
  id            TEXT PRIMARY KEY,
  parent        TEXT,
  size          INTEGER NOT NULL,
  created       TEXT NOT NULL,
  last_tag_time TEXT,
  stored_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS image_layers (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  chain_id TEXT NOT NULL,
  PRIMARY KEY (image_id, position)
);
CREATE INDEX IF NOT EXISTS image_layers_chain ON image_layers(chain_id);
CREATE TABLE IF NOT EXISTS image_refs (
  ref      TEXT PRIMARY KEY,
  name     TEXT NOT NULL,
  kind     TEXT NOT NULL CHECK (kind IN ('tag', 'digest')),
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  created  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS image_refs_image ON image_refs(image_id);
CREATE INDEX IF NOT EXISTS image_refs_name ON image_refs(name);
`;

export interface ImageRow {
  id: string;
  parent: string | null;
  size: number;
  created: string;
  last_tag_time: string | null;
  stored_at: string;
}

export interface RefRow {
  /** Fully qualified: "docker.io/library/busybox:latest" or "...@sha256:...". */
  ref: string;
  /** Repository: "docker.io/library/busybox". */
  name: string;
  kind: "tag" | "digest";
  image_id: string;
  created: string;
}

export interface NewImage {
  id: string;
  parent?: string;
  size: number;
  created: string;
  chainIds: string[];
}

export class ImageDb {
  constructor(private readonly metadata: Metadata) {
    metadata.ensureSchema(SCHEMA);
  }

  transaction<T>(fn: () => T): T {
    return this.metadata.transaction(fn);
  }

  get(id: string): ImageRow | undefined {
    return this.metadata.statement("SELECT * FROM images WHERE id = ?").get(id) as ImageRow | undefined;
  }

  all(): ImageRow[] {
    return this.metadata.statement("SELECT * FROM images").all() as ImageRow[];
  }

  /** Ids starting with `prefix` ("sha256:" + hex); at most `limit`. */
  findByPrefix(prefix: string, limit: number): string[] {
    if (!/^sha256:[a-f0-9]*$/.test(prefix)) return [];
    const rows = this.metadata.statement("SELECT id FROM images WHERE id >= ? AND id < ? ORDER BY id LIMIT ?").all(prefix, `${prefix}g`, limit);
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  chainIds(imageId: string): string[] {
    const rows = this.metadata.statement("SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY position").all(imageId);
    return (rows as Array<{ chain_id: string }>).map((r) => r.chain_id);
  }

  /** Every chain id some image uses. */
  usedChainIds(): Set<string> {
    const rows = this.metadata.statement("SELECT DISTINCT chain_id FROM image_layers").all() as Array<{ chain_id: string }>;
    return new Set(rows.map((r) => r.chain_id));
  }

  children(imageId: string): string[] {
    const rows = this.metadata.statement("SELECT id FROM images WHERE parent = ?").all(imageId) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  refsOf(imageId: string): RefRow[] {
    return this.metadata.statement("SELECT * FROM image_refs WHERE image_id = ? ORDER BY ref").all(imageId) as RefRow[];
  }

  refsByName(name: string): RefRow[] {
    return this.metadata.statement("SELECT * FROM image_refs WHERE name = ? ORDER BY ref").all(name) as RefRow[];
  }

  allRefs(): RefRow[] {
    return this.metadata.statement("SELECT * FROM image_refs ORDER BY ref").all() as RefRow[];
  }

  lookupRef(ref: string): string | undefined {
    const row = this.metadata.statement("SELECT image_id FROM image_refs WHERE ref = ?").get(ref) as { image_id: string } | undefined;
    return row?.image_id;
  }

  /** Inserts an image (a no-op when it exists) with its layer list. */
  insert(image: NewImage): boolean {
    if (this.get(image.id)) return false;
    this.metadata
      .statement("INSERT INTO images (id, parent, size, created, last_tag_time, stored_at) VALUES (?, ?, ?, ?, NULL, ?)")
      .run(image.id, image.parent ?? null, image.size, image.created, new Date().toISOString());
    const insertLayer = this.metadata.statement("INSERT INTO image_layers (image_id, position, chain_id) VALUES (?, ?, ?)");
    image.chainIds.forEach((chainId, i) => insertLayer.run(image.id, i, chainId));
    return true;
  }

  /** Points `ref` at `imageId`; returns the image it pointed at before, if another. */
  setRef(ref: string, name: string, kind: "tag" | "digest", imageId: string): string | undefined {
    const previous = this.lookupRef(ref);
    const now = new Date().toISOString();
    this.metadata
      .statement("INSERT INTO image_refs (ref, name, kind, image_id, created) VALUES (?, ?, ?, ?, ?) ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id, created = excluded.created")
      .run(ref, name, kind, imageId, now);
    if (kind === "tag") this.metadata.statement("UPDATE images SET last_tag_time = ? WHERE id = ?").run(now, imageId);
    return previous !== undefined && previous !== imageId ? previous : undefined;
  }

  deleteRef(ref: string): boolean {
    return this.metadata.statement("DELETE FROM image_refs WHERE ref = ?").run(ref).changes > 0;
  }

  delete(imageId: string): void {
    this.metadata.statement("DELETE FROM image_refs WHERE image_id = ?").run(imageId);
    this.metadata.statement("DELETE FROM image_layers WHERE image_id = ?").run(imageId);
    this.metadata.statement("DELETE FROM images WHERE id = ?").run(imageId);
  }
}
