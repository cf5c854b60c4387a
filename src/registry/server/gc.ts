/**
 * Garbage collection: mark every blob a manifest revision of any repository references (the
 * manifests themselves, configs, layers, index children), then remove the rest. Blobs younger
 * than the grace period are kept, so a push in progress (blobs uploaded, manifest not yet put)
 * is not collected under its feet; repository links to removed blobs go too, and upload
 * sessions idle for longer than a day.
 */
import * as fsp from "node:fs/promises";
import type { Storage } from "./storage";

export interface GcOptions {
  dryRun: boolean;
  graceMs: number;
  uploadMaxAgeMs?: number;
  log?: (line: string) => void;
}

export interface GcResult {
  marked: number;
  removed: string[];
  freedBytes: number;
  uploadsRemoved: number;
}

function referencedDigests(body: Buffer): string[] {
  const out: string[] = [];
  try {
    const doc = JSON.parse(body.toString("utf8")) as {
      config?: { digest?: string };
      layers?: { digest?: string; urls?: unknown }[];
      manifests?: { digest?: string }[];
    };
    if (doc.config?.digest) out.push(doc.config.digest);
    for (const l of doc.layers ?? []) if (l?.digest && !Array.isArray(l.urls)) out.push(l.digest);
    for (const m of doc.manifests ?? []) if (m?.digest) out.push(m.digest);
  } catch {
    // not JSON: references nothing
  }
  return out;
}

export async function collectGarbage(storage: Storage, opts: GcOptions): Promise<GcResult> {
  const log = opts.log ?? (() => undefined);
  const marked = new Set<string>();
  for (const repo of await storage.listRepos()) {
    for (const rev of await storage.listRevisions(repo)) {
      const record = await storage.getManifest(repo, rev.digest);
      if (!record) continue;
      marked.add(rev.digest);
      for (const ref of referencedDigests(record.body)) marked.add(ref);
    }
  }
  const result: GcResult = { marked: marked.size, removed: [], freedBytes: 0, uploadsRemoved: 0 };
  const now = Date.now();
  for (const blob of await storage.listBlobs()) {
    if (marked.has(blob.digest)) continue;
    const file = storage.blobPath(blob);
    const st = await fsp.stat(file).catch(() => null);
    if (!st || now - st.mtimeMs < opts.graceMs) continue;
    log(`${opts.dryRun ? "would remove" : "removing"} blob ${blob.digest} (${st.size} bytes)`);
    result.removed.push(blob.digest);
    result.freedBytes += st.size;
    if (!opts.dryRun) await fsp.rm(file, { force: true });
  }
  if (!opts.dryRun) {
    const removed = new Set(result.removed);
    for (const repo of await storage.listRepos()) {
      for (const link of await storage.listLayerLinks(repo)) {
        if (removed.has(link.digest) || (await storage.blobSize(link)) === null) await storage.unlinkBlob(repo, link);
      }
    }
    for (const uuid of await storage.staleUploads(opts.uploadMaxAgeMs ?? 24 * 3600_000)) {
      log(`removing stale upload ${uuid}`);
      await storage.dropUpload(uuid);
      result.uploadsRemoved++;
    }
  }
  return result;
}
