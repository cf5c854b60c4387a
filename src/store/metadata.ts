import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The metadata database (SQLite, WAL). Each store module owns its tables and creates them with
 * `ensureSchema`; cross-object changes go through `transaction` so a crash leaves either the
 * whole change or none of it.
 */
export class Metadata {
  readonly db: Database.Database;

  constructor(dataRoot: string) {
    fs.mkdirSync(dataRoot, { recursive: true, mode: 0o710 });
    this.db = new Database(path.join(dataRoot, "wharf.db"));
    this.db.pragma("journal_mode = WAL");
    // NORMAL is durable across process crashes in WAL mode; only a power loss may drop the last commits.
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("busy_timeout = 5000");
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** A prepared statement, compiled once per SQL text (preparing costs more than running). */
  statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  ensureSchema(sql: string): void {
    this.db.exec(sql);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
