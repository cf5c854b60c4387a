import type { Metadata } from "../../store/metadata";
import type { ContainerRecord } from "./types";

/**
 * Persists container records. Every record is also kept in memory: listing 1000 containers
 * must not parse 1000 JSON rows per request.
 */
export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  /** "/name" -> id, kept in step with byId (names are looked up on every create and request). */
  private readonly names = new Map<string, string>();
  private readonly nameOf = new Map<string, string>();

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
      this.names.set(record.Name, record.Id);
      this.nameOf.set(record.Id, record.Name);
    }
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  get(id: string): ContainerRecord | undefined {
    return this.byId.get(id);
  }

  byName(name: string): ContainerRecord | undefined {
    const id = this.names.get(name.startsWith("/") ? name : `/${name}`);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** Inserts or replaces; the UNIQUE name constraint is the last guard against a duplicate name. */
  save(record: ContainerRecord): void {
    this.metadata
      .statement("INSERT INTO containers (id, name, record) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, record = excluded.record")
      .run(record.Id, record.Name, JSON.stringify(record));
    // Records are changed in place, so the name it was filed under is kept apart (a rename).
    const filedAs = this.nameOf.get(record.Id);
    if (filedAs !== undefined && filedAs !== record.Name) this.names.delete(filedAs);
    this.byId.set(record.Id, record);
    this.names.set(record.Name, record.Id);
    this.nameOf.set(record.Id, record.Name);
  }

  delete(id: string): void {
    this.metadata.statement("DELETE FROM containers WHERE id = ?").run(id);
    const filedAs = this.nameOf.get(id);
    if (filedAs !== undefined && this.names.get(filedAs) === id) this.names.delete(filedAs);
    this.nameOf.delete(id);
    this.byId.delete(id);
  }

  count(): number {
    return this.byId.size;
  }
}
