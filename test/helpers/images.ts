import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { ImageService } from "../../src/engine/images/image-service";
import { ContentStore } from "../../src/store/content";
import { Metadata } from "../../src/store/metadata";
import { SnapshotStore } from "../../src/store/snapshots";

/** Fixtures for the image tests: in-memory tars and a full image service on a temp data root. */

export interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const header = {
      name: e.name,
      type,
      // A bit above 0o7777 keeps an explicit mode 0 (tar-stream treats 0 as "use the default").
      mode: (e.mode ?? (type === "directory" ? 0o755 : 0o644)) | 0o100000,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_000_000_000_000),
      linkname: e.linkname,
      devmajor: e.devmajor,
      devminor: e.devminor,
      pax: e.pax,
      size: data?.length ?? 0,
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data) pack.entry(header, data, cb);
      else if (type === "file") pack.entry(header, Buffer.alloc(0), cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function gzip(buf: Buffer): Buffer {
  return gzipSync(buf);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `wharf-${prefix}-`));
}

export interface ImageFixture {
  root: string;
  metadata: Metadata;
  content: ContentStore;
  snapshots: SnapshotStore;
  images: ImageService;
  /** Containers "using" images, for rmi conflict tests: imageId -> container id. */
  inUse: Map<string, string>;
  running: Map<string, string>;
  close(): void;
}

export function imageFixture(root = tempDir("images")): ImageFixture {
  const metadata = new Metadata(root);
  const content = new ContentStore(root);
  const snapshots = new SnapshotStore({ dataRoot: root, metadata, content });
  const inUse = new Map<string, string>();
  const running = new Map<string, string>();
  const images = new ImageService({
    dataRoot: root,
    metadata,
    content,
    snapshots,
    isImageInUse: (id) => inUse.get(id),
    isImageInUseByRunning: (id) => running.get(id),
  });
  return { root, metadata, content, snapshots, images, inUse, running, close: () => metadata.close() };
}

/** Every file and directory under `dir` (relative), for "nothing changed" checks. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const abs = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) walk(abs, r);
    }
  };
  if (fs.existsSync(dir)) walk(dir, "");
  return out;
}

/** Bounds a promise: a hung operation fails the test instead of hanging the run. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
