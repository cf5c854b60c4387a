import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { dirSize } from "../../lib/dir-size";
import { KeyedLock } from "../../lib/keyed-lock";
import { copyTree } from "./tree-copy";

export type CacheSharing = "shared" | "private" | "locked";

export interface CacheMountRequest {
  id: string;
  sharing: CacheSharing;
  /** Content for a new cache dir (from= + source=), copied in before first use. */
  seed?: string;
  mode: number;
  uid: number;
  gid: number;
}

interface CacheMeta {
  id: string;
  created: string;
  lastUsed: string;
  usageCount: number;
}

/**
 * RUN --mount=type=cache directories: one per cache id under <data-root>/build-cache-mounts,
 * kept across builds until `builder prune`. A new one is made aside and renamed into place (a
 * crash leaves no half-seeded cache); `sharing=locked` lets one RUN at a time use it,
 * `private` gives a RUN that finds it in use a fresh throwaway one, `shared` lets all in.
 */
export class CacheMounts {
  private readonly inUse = new Map<string, number>();
  private readonly tails = new Map<string, Promise<void>>();
  /** One RUN at a time makes a missing cache dir (the others then find it made). */
  private readonly creating = new KeyedLock();

  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    // Half-made caches and private ones of builds that died with the daemon.
    for (const name of fs.readdirSync(root)) {
      if (name.includes(".tmp-") || name.startsWith("private-")) fs.rmSync(path.join(root, name), { recursive: true, force: true });
    }
  }

  private key(id: string): string {
    return createHash("sha256").update(id).digest("hex").slice(0, 32);
  }

  /** The cache dir for a RUN, held until `release`. */
  async acquire(req: CacheMountRequest): Promise<{ dir: string; release: () => Promise<void> }> {
    const key = this.key(req.id);
    let unlock: (() => void) | undefined;
    if (req.sharing === "locked") {
      const previous = this.tails.get(key) ?? Promise.resolve();
      const mine = new Promise<void>((resolve) => (unlock = resolve));
      const tail = previous.then(() => mine);
      this.tails.set(key, tail);
      await previous;
      const done = unlock as () => void;
      unlock = () => {
        done();
        if (this.tails.get(key) === tail) this.tails.delete(key);
      };
    }
    try {
      if (req.sharing === "private" && (this.inUse.get(key) ?? 0) > 0) {
        const dir = path.join(this.root, `private-${randomBytes(8).toString("hex")}`);
        await this.make(dir, req);
        return { dir, release: async () => fs.rmSync(dir, { recursive: true, force: true }) };
      }
      const dir = path.join(this.root, key);
      await this.creating.run(key, async () => {
        if (!fs.existsSync(dir)) await this.make(dir, req);
      });
      this.touch(key, req.id);
      this.inUse.set(key, (this.inUse.get(key) ?? 0) + 1);
      const held = unlock;
      return {
        dir,
        release: async () => {
          const n = (this.inUse.get(key) ?? 1) - 1;
          if (n > 0) this.inUse.set(key, n);
          else this.inUse.delete(key);
          held?.();
        },
      };
    } catch (err) {
      unlock?.();
      throw err;
    }
  }

  /** A new cache dir: built aside, then renamed into place. */
  private async make(dir: string, req: CacheMountRequest): Promise<void> {
    const tmp = `${dir}.tmp-${randomBytes(6).toString("hex")}`;
    try {
      fs.mkdirSync(tmp, { mode: 0o700 });
      if (req.seed) await copyTree(req.seed, tmp);
      fs.chownSync(tmp, req.uid, req.gid);
      fs.chmodSync(tmp, req.mode);
      fs.renameSync(tmp, dir);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  private touch(key: string, id: string): void {
    const file = path.join(this.root, `${key}.json`);
    const now = new Date().toISOString();
    let meta: CacheMeta = { id, created: now, lastUsed: now, usageCount: 0 };
    try {
      meta = JSON.parse(fs.readFileSync(file, "utf8")) as CacheMeta;
    } catch {
      // a new cache (or its record lost): start counting again
    }
    meta.lastUsed = now;
    meta.usageCount++;
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(meta));
    fs.renameSync(`${file}.tmp`, file);
  }

  /** The caches as `system df` shows build cache records. */
  async usage(): Promise<Array<{ ID: string; Type: string; Description: string; InUse: boolean; Shared: boolean; Size: number; CreatedAt: string; LastUsedAt: string; UsageCount: number }>> {
    const out = [];
    for (const name of fs.readdirSync(this.root)) {
      if (!/^[0-9a-f]{32}$/.test(name)) continue;
      let meta: CacheMeta | undefined;
      try {
        meta = JSON.parse(fs.readFileSync(path.join(this.root, `${name}.json`), "utf8")) as CacheMeta;
      } catch {
        meta = undefined;
      }
      out.push({
        ID: name,
        Type: "exec.cachemount",
        Description: `cached mount ${meta?.id ?? ""} from exec`,
        InUse: (this.inUse.get(name) ?? 0) > 0,
        Shared: false,
        Size: await dirSize(path.join(this.root, name)),
        CreatedAt: meta?.created ?? "",
        LastUsedAt: meta?.lastUsed ?? "",
        UsageCount: meta?.usageCount ?? 0,
      });
    }
    return out;
  }

  /** Removes every cache no RUN is using; returns their ids and the bytes freed. */
  async prune(): Promise<{ ids: string[]; bytes: number }> {
    const ids: string[] = [];
    let bytes = 0;
    for (const name of fs.readdirSync(this.root)) {
      if (!/^[0-9a-f]{32}$/.test(name) || (this.inUse.get(name) ?? 0) > 0 || this.tails.has(name)) continue;
      const dir = path.join(this.root, name);
      bytes += await dirSize(dir);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(`${dir}.json`, { force: true });
      ids.push(name);
    }
    return { ids, bytes };
  }
}
