import { SystemError } from "../../lib/errors";
import type { IdMapping } from "../../lib/id-mapping";
import type { Metadata } from "../../store/metadata";
import type { SubidRange } from "./subordinate-ids";

/** Ids per container with --userns=auto: a full 16-bit range, as images expect. */
export const AUTO_RANGE_SIZE = 65536;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS userns_allocations (
  container_id TEXT PRIMARY KEY,
  uid_base     INTEGER NOT NULL UNIQUE,
  gid_base     INTEGER NOT NULL UNIQUE,
  size         INTEGER NOT NULL
);
`;

/** Where the pool's ids come from: the pool user's subordinate ranges, read at each allocation. */
export interface PoolSource {
  /** e.g. `user "wharf" in /etc/subuid and /etc/subgid`, for error messages. */
  describe: string;
  ranges(): { uids: SubidRange[]; gids: SubidRange[] };
}

/**
 * The --userns=auto pool: each container gets its own slot of AUTO_RANGE_SIZE uids and gids.
 * Allocations are rows in SQLite, written before the container exists and deleted when it is
 * removed, so a daemon crash can never hand one range to two containers (UNIQUE bases make that
 * a constraint, not a hope); rows of containers that never came to exist are dropped at start.
 */
export class UsernsPool {
  constructor(
    private readonly metadata: Metadata,
    private readonly source: PoolSource,
  ) {
    metadata.ensureSchema(SCHEMA);
  }

  /** The slots the pool's ranges hold, in order: uid and gid bases side by side. */
  private slots(): Array<{ uidBase: number; gidBase: number }> {
    const { uids, gids } = this.source.ranges();
    const split = (ranges: SubidRange[]): number[] =>
      ranges.flatMap((r) => Array.from({ length: Math.floor(r.count / AUTO_RANGE_SIZE) }, (_v, i) => r.start + i * AUTO_RANGE_SIZE));
    const uidSlots = split(uids);
    const gidSlots = split(gids);
    return uidSlots.slice(0, gidSlots.length).map((uidBase, i) => ({ uidBase, gidBase: gidSlots[i] }));
  }

  allocate(containerId: string): IdMapping {
    const slots = this.slots();
    return this.metadata.transaction(() => {
      const existing = this.get(containerId);
      if (existing) return existing;
      const rows = this.metadata.statement("SELECT uid_base, gid_base FROM userns_allocations").all() as Array<{ uid_base: number; gid_base: number }>;
      const usedUids = new Set(rows.map((r) => r.uid_base));
      const usedGids = new Set(rows.map((r) => r.gid_base));
      const free = slots.find((s) => !usedUids.has(s.uidBase) && !usedGids.has(s.gidBase));
      if (!free) {
        throw new SystemError(
          `--userns=auto: no free user namespace range: all ${slots.length} ranges of ${AUTO_RANGE_SIZE} ids in the pool (${this.source.describe}) are in use`,
        );
      }
      this.metadata
        .statement("INSERT INTO userns_allocations (container_id, uid_base, gid_base, size) VALUES (?, ?, ?, ?)")
        .run(containerId, free.uidBase, free.gidBase, AUTO_RANGE_SIZE);
      return { ...free, size: AUTO_RANGE_SIZE };
    });
  }

  get(containerId: string): IdMapping | undefined {
    const row = this.metadata.statement("SELECT uid_base, gid_base, size FROM userns_allocations WHERE container_id = ?").get(containerId) as
      | { uid_base: number; gid_base: number; size: number }
      | undefined;
    return row ? { uidBase: row.uid_base, gidBase: row.gid_base, size: row.size } : undefined;
  }

  release(containerId: string): void {
    this.metadata.statement("DELETE FROM userns_allocations WHERE container_id = ?").run(containerId);
  }

  /** Daemon start: ranges held for containers that do not exist (a crash mid-create) go back. */
  releaseAllBut(containerIds: Set<string>): string[] {
    const rows = this.metadata.statement("SELECT container_id FROM userns_allocations").all() as Array<{ container_id: string }>;
    const orphans = rows.map((r) => r.container_id).filter((id) => !containerIds.has(id));
    for (const id of orphans) this.release(id);
    return orphans;
  }

  /** How many ranges are allocated. */
  count(): number {
    return (this.metadata.statement("SELECT COUNT(*) AS n FROM userns_allocations").get() as { n: number }).n;
  }
}
