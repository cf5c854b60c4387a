import type { Metadata } from "../../store/metadata";
import type { NetworkRecord } from "./types";

/** Persists network records in SQLite, kept in memory as well (they are few and read often). */
export class NetworkStore {
  private readonly byId = new Map<string, NetworkRecord>();

  constructor(private readonly metadata: Metadata) {
    metadata.ensureSchema(`
      CREATE TABLE IF NOT EXISTS networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
      );
    `);
    const rows = metadata.db.prepare("SELECT record FROM networks").all() as Array<{ record: string }>;
    for (const row of rows) {
      const record = JSON.parse(row.record) as NetworkRecord;
      this.byId.set(record.Id, record);
    }
  }

  all(): NetworkRecord[] {
    return [...this.byId.values()];
  }

  get(id: string): NetworkRecord | undefined {
    return this.byId.get(id);
  }

  byName(name: string): NetworkRecord | undefined {
    for (const record of this.byId.values()) if (record.Name === name) return record;
    return undefined;
  }

  save(record: NetworkRecord): void {
    this.metadata.db
      .prepare("INSERT INTO networks (id, name, record) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, record = excluded.record")
      .run(record.Id, record.Name, JSON.stringify(record));
    this.byId.set(record.Id, record);
  }

  delete(id: string): void {
    this.metadata.db.prepare("DELETE FROM networks WHERE id = ?").run(id);
    this.byId.delete(id);
  }
}
