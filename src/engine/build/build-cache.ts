import { createHash } from "node:crypto";
import type { Metadata } from "../../store/metadata";

/**
 * The build cache: a step's key (parent image, instruction, build args it sees, COPY/ADD
 * content hash) -> the image that step produced. The images themselves are ordinary untagged
 * images (parents of what builds tagged), so the cache costs one row per step.
 */
export class BuildCacheStore {
  constructor(private readonly metadata: Metadata) {
    metadata.ensureSchema(
      "CREATE TABLE IF NOT EXISTS build_cache (key TEXT PRIMARY KEY, image_id TEXT NOT NULL, created TEXT NOT NULL);" +
        "CREATE TABLE IF NOT EXISTS build_scratch (id TEXT PRIMARY KEY)",
    );
  }

  /** Scratch snapshots a build is using (removed at daemon start if a crash left them). */
  recordScratch(id: string): void {
    this.metadata.statement("INSERT OR IGNORE INTO build_scratch (id) VALUES (?)").run(id);
  }

  forgetScratch(id: string): void {
    this.metadata.statement("DELETE FROM build_scratch WHERE id = ?").run(id);
  }

  scratchIds(): string[] {
    return (this.metadata.statement("SELECT id FROM build_scratch").all() as Array<{ id: string }>).map((r) => r.id);
  }

  static key(parts: unknown[]): string {
    return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  }

  get(key: string): string | undefined {
    const row = this.metadata.statement("SELECT image_id FROM build_cache WHERE key = ?").get(key) as { image_id: string } | undefined;
    return row?.image_id;
  }

  put(key: string, imageId: string): void {
    this.metadata
      .statement("INSERT OR REPLACE INTO build_cache (key, image_id, created) VALUES (?, ?, ?)")
      .run(key, imageId, new Date().toISOString());
  }

  delete(key: string): void {
    this.metadata.statement("DELETE FROM build_cache WHERE key = ?").run(key);
  }

  all(): Array<{ key: string; image_id: string; created: string }> {
    return this.metadata.statement("SELECT key, image_id, created FROM build_cache").all() as Array<{ key: string; image_id: string; created: string }>;
  }

  clear(keys: string[]): void {
    this.metadata.transaction(() => {
      for (const k of keys) this.delete(k);
    });
  }
}
