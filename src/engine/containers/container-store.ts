import type { Metadata } from "../../store/metadata";
import type { ContainerRecord } from "./types";

/**
 * Persists container records. Every record is also kept in memory: listing 1000 containers
 * must not parse 1000 JSON rows per request.
 */
export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();

  constructor(private readonly metadata: Metadata) {
    metadata.ensureSchema(`
      CREATE TABLE IF NOT EXISTS containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
      );
    `);
    const rows = metadata.db.prepare("SELECT record FROM containers").all() as Array<{ record: string }>;
    for (const row of rows) {
      const record = JSON.parse(row.record) as ContainerRecord;
      this.byId.set(record.Id, record);
    }
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  get(id: string): ContainerRecord | undefined {
    return this.byId.get(id);
  }

  byName(name: string): ContainerRecord | undefined {
    const wanted = name.startsWith("/") ? name : `/${name}`;
    for (const record of this.byId.values()) if (record.Name === wanted) return record;
    return undefined;
  }

  /** Inserts or replaces; the UNIQUE name constraint is the last guard against a duplicate name. */
  save(record: ContainerRecord): void {
    this.metadata.db
      .prepare("INSERT INTO containers (id, name, record) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, record = excluded.record")
      .run(record.Id, record.Name, JSON.stringify(record));
    this.byId.set(record.Id, record);
  }

  delete(id: string): void {
    this.metadata.db.prepare("DELETE FROM containers WHERE id = ?").run(id);
    this.byId.delete(id);
  }

  count(): number {
    return this.byId.size;
  }
}
