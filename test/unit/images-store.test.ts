import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { chainId } from "../../src/lib/digest";
import { ContentStore } from "../../src/store/content";
import { Metadata } from "../../src/store/metadata";
import { SnapshotStore } from "../../src/store/snapshots";
import { makeTar, tempDir } from "../helpers/images";

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function root(): string {
  const r = tempDir("store");
  roots.push(r);
  return r;
}

function digestOf(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

function tempFiles(store: ContentStore): string[] {
  return fs.readdirSync(store.dir).filter((n) => n.startsWith(".tmp-"));
}

describe("content store", () => {
  it("stores by digest, verifies, and leaves no temp file on failure", async () => {
    const store = new ContentStore(root());
    const { digest, size } = await store.put(Buffer.from("hello"));
    assert.equal(digest, digestOf("hello"));
    assert.equal(size, 5);
    assert.equal(store.readSync(digest).toString(), "hello");
    assert.equal(fs.readFileSync(path.join(store.dir, digest.slice(7)), "utf8"), "hello");
    await store.put(Buffer.from("hello"), digest); // same blob again is fine
    await assert.rejects(store.put(Buffer.from("other"), digest), { statusCode: 400, message: /digest mismatch/ });
    assert.deepEqual(tempFiles(store), []);
    assert.deepEqual(store.list(), [digest]);
  });

  it("an aborted stream leaves nothing", async () => {
    const store = new ContentStore(root());
    const input = new PassThrough();
    const ingest = store.ingest(input);
    input.write(Buffer.alloc(1000, 1));
    setImmediate(() => input.destroy(new Error("client went away")));
    await assert.rejects(ingest, /client went away/);
    assert.deepEqual(tempFiles(store), []);
    assert.deepEqual(store.list(), []);
  });

  it("removes temp files a crash left behind when it opens", () => {
    const r = root();
    const store = new ContentStore(r);
    fs.writeFileSync(path.join(store.dir, ".tmp-deadbeef"), "partial");
    new ContentStore(r);
    assert.deepEqual(tempFiles(store), []);
  });
});

describe("snapshot store: layers", () => {
  function open(r: string): { metadata: Metadata; content: ContentStore; snapshots: SnapshotStore } {
    const metadata = new Metadata(r);
    const content = new ContentStore(r);
    return { metadata, content, snapshots: new SnapshotStore({ dataRoot: r, metadata, content }) };
  }

  it("unpacks into <chain>/fs, keeps the tar as a blob, dedupes", async () => {
    const r = root();
    const { snapshots, content, metadata } = open(r);
    const tar1 = await makeTar([{ name: "a", data: "A" }]);
    const l1 = await snapshots.applyLayer(Readable.from([tar1]));
    assert.equal(l1.unpacked, true);
    assert.equal(l1.chainId, digestOf(tar1));
    assert.equal(l1.diffId, digestOf(tar1));
    assert.equal(fs.readFileSync(path.join(snapshots.layerDir(l1.chainId), "a"), "utf8"), "A");
    assert.ok(content.has(l1.diffId));
    const again = await snapshots.applyLayer(Readable.from([tar1]));
    assert.equal(again.unpacked, false);
    const tar2 = await makeTar([{ name: "b", data: "B" }]);
    const l2 = await snapshots.applyLayer(Readable.from([tar2]), { parent: l1.chainId });
    assert.equal(l2.chainId, chainId(l1.chainId, digestOf(tar2)));
    assert.equal(l2.parent, l1.chainId);
    const chunks: Buffer[] = [];
    for await (const c of snapshots.openLayerTar(l2.chainId)) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(tar2));
    // Nothing keeps them: prune removes both (top first) with their blobs.
    const removed = await snapshots.prune(new Set());
    assert.deepEqual(removed.map((l) => l.chainId), [l2.chainId, l1.chainId]);
    assert.deepEqual(content.list(), []);
    assert.deepEqual(fs.readdirSync(snapshots.root).sort(), ["containers"]);
    metadata.close();
  });

  it("keeps what a lease or a kept child holds", async () => {
    const { snapshots, metadata } = open(root());
    const l1 = await snapshots.applyLayer(Readable.from([await makeTar([{ name: "a", data: "A" }])]));
    const lease = snapshots.lease();
    const l2 = await snapshots.applyLayer(Readable.from([await makeTar([{ name: "b", data: "B" }])]), { parent: l1.chainId, lease });
    assert.deepEqual(await snapshots.prune(new Set()), []);
    lease.release();
    assert.deepEqual(await snapshots.prune(new Set([l2.chainId])), []);
    assert.equal((await snapshots.prune(new Set())).length, 2);
    metadata.close();
  });

  it("a failed or interrupted unpack leaves nothing", async () => {
    const r = root();
    const { snapshots, content, metadata } = open(r);
    const tarBuf = await makeTar([{ name: "big", data: Buffer.alloc(200_000, 3) }]);
    await assert.rejects(snapshots.applyLayer(Readable.from([tarBuf]), { expectedDiffId: `sha256:${"0".repeat(64)}` }), /invalid diffID/);
    const input = new PassThrough();
    const pending = snapshots.applyLayer(input);
    input.write(tarBuf.subarray(0, 100_000));
    setImmediate(() => input.destroy(new Error("connection reset")));
    await assert.rejects(pending, /connection reset/);
    assert.deepEqual(fs.readdirSync(snapshots.root).sort(), ["containers"]);
    assert.deepEqual(snapshots.list(), []);
    assert.deepEqual(content.list(), []);
    assert.deepEqual(fs.readdirSync(content.dir), []);
    metadata.close();
  });

  it("repairs at startup: temp dirs and dirs without rows go", async () => {
    const r = root();
    const first = open(r);
    const l1 = await first.snapshots.applyLayer(Readable.from([await makeTar([{ name: "a", data: "A" }])]));
    fs.mkdirSync(path.join(first.snapshots.root, "tmp-crashed/fs"), { recursive: true });
    fs.mkdirSync(path.join(first.snapshots.root, "f".repeat(64), "fs"), { recursive: true });
    first.metadata.close();
    const second = open(r);
    assert.deepEqual(fs.readdirSync(second.snapshots.root).sort(), [l1.chainId.slice(7), "containers"].sort());
    assert.ok(second.snapshots.has(l1.chainId));
    second.metadata.close();
  });
});
