import type { Metadata } from "../../store/metadata";
import type { VolumeRecord } from "./types";

/** Persists volume records in SQLite, kept in memory as well (listing is frequent, volumes few). */
export class VolumeStore {
  private readonly byName = new Map<string, VolumeRecord>();

  constructor(private readonly metadata: Metadata) {
    metadata.ensureSchema(`
      CREATE TABLE IF NOT EXISTS volumes (
        name TEXT PRIMARY KEY,
        record TEXT NOT NULL
      );
    `);
    const rows = metadata.db.prepare("SELECT record FROM volumes").all() as Array<{ record: string }>;
    for (const row of rows) {
      const record = JSON.parse(row.record) as VolumeRecord;
      this.byName.set(record.Name, record);
    }
  }

  all(): VolumeRecord[] {
    return [...this.byName.values()];
  }

  get(name: string): VolumeRecord | undefined {
    return this.byName.get(name);
  }

  save(record: VolumeRecord): void {
    this.metadata
      .statement("INSERT INTO volumes (name, record) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET record = excluded.record")
      .run(record.Name, JSON.stringify(record));
    this.byName.set(record.Name, record);
  }

  delete(name: string): void {
    this.metadata.statement("DELETE FROM volumes WHERE name = ?").run(name);
    this.byName.delete(name);
  }
}
