import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { after, beforeEach, describe, it } from "node:test";
import { importImage, type ImportOptions } from "../../src/engine/images/import";
import type { ImageRecord } from "../../src/engine/images/types";
import { imageFixture, listTree, makeTar, type ImageFixture, type TarEntry } from "../helpers/images";

const CONTAINER = "1a2b3c4d5e6f".padEnd(64, "0");
const fixtures: ImageFixture[] = [];
let fx: ImageFixture;

beforeEach(() => {
  fx = imageFixture();
  fixtures.push(fx);
});

after(() => {
  for (const f of fixtures) {
    f.close();
    fs.rmSync(f.root, { recursive: true, force: true });
  }
});

async function imp(entries: TarEntry[], opts: ImportOptions = {}): Promise<ImageRecord> {
  return importImage(fx.images, Readable.from([await makeTar(entries)]), opts);
}

/** A distinct one-layer image per call. */
let n = 0;
async function image(repo?: string, extra: ImportOptions = {}): Promise<ImageRecord> {
  n++;
  return imp([{ name: `file-${n}`, data: `content ${n}` }], { repo, created: new Date(1_600_000_000_000 + n * 1000).toISOString(), ...extra });
}

function short(id: string): string {
  return id.slice(7, 19);
}

describe("images: import and inspect", () => {
  it("builds a one-layer image whose id is the digest of its config", async () => {
    const rec = await imp([{ name: "bin/", type: "directory" }, { name: "bin/app", data: "x", mode: 0o755 }], {
      repo: "app",
      tag: "1",
      changes: ['CMD ["app"]', "ENV A=1"],
      message: "hello",
      created: "2020-01-01T00:00:00Z",
    });
    const raw = fx.images.configBytes(rec.id);
    assert.equal(rec.id, `sha256:${createHash("sha256").update(raw).digest("hex")}`);
    const inspect = fx.images.inspect("app:1");
    assert.equal(inspect.Id, rec.id);
    assert.deepEqual(inspect.RepoTags, ["app:1"]);
    assert.deepEqual(inspect.RepoDigests, []);
    assert.equal(inspect.Comment, "hello");
    assert.equal(inspect.Created, "2020-01-01T00:00:00Z");
    assert.deepEqual(inspect.Config.Cmd, ["app"]);
    assert.deepEqual(inspect.Config.Env, ["A=1"]);
    assert.equal(inspect.Config.Entrypoint, null);
    assert.equal(inspect.Os, "linux");
    assert.equal(inspect.RootFS.Type, "layers");
    assert.equal(inspect.RootFS.Layers.length, 1);
    assert.equal(inspect.GraphDriver.Name, "overlay2");
    assert.ok(fs.existsSync(path.join(inspect.GraphDriver.Data.UpperDir, "bin/app")));
    assert.equal(inspect.Size, 1);
    assert.notEqual(inspect.Metadata.LastTagTime, "0001-01-01T00:00:00Z");
    const history = fx.images.history(rec.id);
    assert.deepEqual(history, [{ Id: rec.id, Created: 1577836800, CreatedBy: "", Tags: ["app:1"], Size: 1, Comment: "hello" }]);
  });

  it("the same tar, changes and time give the same id", async () => {
    const entries: TarEntry[] = [{ name: "f", data: "same" }];
    const opts = { changes: ['CMD ["sh"]'], created: "2000-01-01T00:00:00Z" };
    const a = await imp(entries, opts);
    const b = await imp(entries, { ...opts, repo: "other" });
    assert.equal(a.id, b.id);
  });

  it("a refused import stores nothing", async () => {
    const before = listTree(fx.root).filter((p) => !p.startsWith("wharf.db"));
    await assert.rejects(imp([{ name: "f", data: "x" }], { changes: ["RUN rm -rf /"] }), { statusCode: 400, message: "RUN is not a valid change command" });
    await assert.rejects(imp([{ name: "f", data: "x" }], { repo: "Bad" }), /must be lowercase/);
    await assert.rejects(importImage(fx.images, Readable.from([Buffer.alloc(2048, 1)]), { repo: "x" }), { statusCode: 400 });
    await assert.rejects(imp([{ name: "../escape", data: "x" }], { repo: "x" }), /escapes the root/);
    assert.deepEqual(listTree(fx.root).filter((p) => !p.startsWith("wharf.db")), before);
    assert.deepEqual(fx.images.list(), []);
  });
});

describe("images: resolve", () => {
  it("finds images by name, full name, id, hex, unique prefix", async () => {
    const rec = await image("busybox");
    const hex = rec.id.slice(7);
    for (const ref of ["busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox", rec.id, hex, hex.slice(0, 12), hex.slice(0, 1), `sha256:${hex.slice(0, 5)}`]) {
      assert.equal(fx.images.resolve(ref).id, rec.id, ref);
    }
  });

  it("answers Docker's not-found and bad-reference errors", async () => {
    await image("busybox");
    assert.throws(() => fx.images.resolve("nope"), { statusCode: 404, message: "No such image: nope:latest" });
    assert.throws(() => fx.images.resolve("busybox:1"), { statusCode: 404, message: "No such image: busybox:1" });
    assert.throws(() => fx.images.resolve(`sha256:${"f".repeat(64)}`), { statusCode: 404, message: `No such image: sha256:${"f".repeat(64)}` });
    assert.throws(() => fx.images.resolve("Busybox"), { statusCode: 400, message: "invalid reference format: repository name (library/Busybox) must be lowercase" });
  });

  it("an ambiguous prefix is not found", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await image()).id.slice(7, 8));
    // With 20 images some first hex digit repeats: that one-char prefix must not resolve.
    const counts = new Map<string, number>();
    for (const rec of fx.images.list()) counts.set(rec.Id[7], (counts.get(rec.Id[7]) ?? 0) + 1);
    const dup = [...counts].find(([, c]) => c > 1)?.[0];
    assert.ok(dup);
    assert.throws(() => fx.images.resolve(dup), { statusCode: 404 });
  });
});

describe("images: tag and list", () => {
  it("tags move between images; list shows Docker's shape", async () => {
    const a = await image("app");
    const b = await image();
    fx.images.tag(a.id, "localhost:5000/app:1");
    fx.images.tag(b.id, "app:latest");
    const list = fx.images.list();
    assert.deepEqual(
      list.map((i) => [i.Id, i.RepoTags]),
      [
        [b.id, ["app:latest"]],
        [a.id, ["localhost:5000/app:1"]],
      ],
    );
    assert.deepEqual(Object.keys(list[0]), ["Containers", "Created", "Id", "Labels", "ParentId", "RepoDigests", "RepoTags", "SharedSize", "Size"]);
    assert.equal(list[0].Containers, -1);
    assert.equal(list[0].SharedSize, -1);
    assert.throws(() => fx.images.tag(a.id, "sha256:abc"), /ambiguous tag/);
    assert.throws(() => fx.images.tag(a.id, `x@sha256:${"a".repeat(64)}`), /digest reference/);
    assert.throws(() => fx.images.tag("missing", "x"), { statusCode: 404 });
  });

  it("filters: dangling, reference, label, before/since, unknown", async () => {
    const old = await image("old");
    const labelled = await image("lab", { changes: ["LABEL team=core tier=web"] });
    const dangling = await image();
    const ids = (filters: Record<string, string[]>): string[] => fx.images.list({ filters: new Map(Object.entries(filters)) }).map((i) => i.Id);
    assert.deepEqual(ids({ dangling: ["true"] }), [dangling.id]);
    assert.deepEqual(ids({ dangling: ["false"] }).sort(), [old.id, labelled.id].sort());
    assert.deepEqual(ids({ reference: ["ol*"] }), [old.id]);
    assert.deepEqual(ids({ label: ["team=core"] }), [labelled.id]);
    assert.deepEqual(ids({ label: ["team=core", "tier"] }), [labelled.id]);
    assert.deepEqual(ids({ label: ["team=other"] }), []);
    assert.deepEqual(ids({ before: ["lab"] }), [old.id]);
    assert.deepEqual(ids({ since: ["lab"] }), [dangling.id]);
    assert.throws(() => ids({ bogus: ["1"] }), { statusCode: 400, message: "invalid filter 'bogus'" });
    assert.throws(() => ids({ dangling: ["maybe"] }), { statusCode: 400 });
    assert.throws(() => ids({ before: ["nothere"] }), { statusCode: 404 });
  });
});

describe("images: remove (Docker's rmi semantics)", () => {
  it("untags while other tags remain, then deletes image and layer", async () => {
    const rec = await image("app");
    fx.images.tag(rec.id, "app:2");
    assert.deepEqual(await fx.images.remove("app"), [{ Untagged: "app:latest" }]);
    const layer = rec.chainIds[0];
    assert.deepEqual(await fx.images.remove("app:2"), [{ Untagged: "app:2" }, { Deleted: rec.id }, { Deleted: layer }]);
    assert.equal(fx.snapshots.has(layer), false);
    assert.equal(fx.content.has(rec.id), false);
    assert.deepEqual(fx.content.list(), []);
    assert.throws(() => fx.images.resolve(rec.id), { statusCode: 404 });
  });

  it("by id with names in several repositories needs force", async () => {
    const rec = await image("one");
    fx.images.tag(rec.id, "two");
    await assert.rejects(fx.images.remove(rec.id), {
      statusCode: 409,
      message: `conflict: unable to delete ${short(rec.id)} (must be forced) - image is referenced in multiple repositories`,
    });
    assert.deepEqual(fx.images.resolve(rec.id).repoTags, ["one:latest", "two:latest"]);
    const out = await fx.images.remove(short(rec.id), { force: true });
    assert.deepEqual(out, [{ Untagged: "one:latest" }, { Untagged: "two:latest" }, { Deleted: rec.id }, { Deleted: rec.chainIds[0] }]);
  });

  it("by id with a single name untags it and deletes", async () => {
    const rec = await image("solo");
    const out = await fx.images.remove(rec.id);
    assert.deepEqual(out.slice(0, 2), [{ Untagged: "solo:latest" }, { Deleted: rec.id }]);
  });

  it("a container using the image blocks removal unless forced", async () => {
    const rec = await image("busybox");
    fx.inUse.set(rec.id, CONTAINER);
    await assert.rejects(fx.images.remove("busybox"), {
      statusCode: 409,
      message: `conflict: unable to remove repository reference "busybox" (must force) - container 1a2b3c4d5e6f is using its referenced image ${short(rec.id)}`,
    });
    await assert.rejects(fx.images.remove(rec.id), {
      message: `conflict: unable to delete ${short(rec.id)} (must be forced) - image is being used by stopped container 1a2b3c4d5e6f`,
    });
    fx.running.set(rec.id, CONTAINER);
    await assert.rejects(fx.images.remove(rec.id, { force: true }), {
      message: `conflict: unable to delete ${short(rec.id)} (cannot be forced) - image is being used by running container 1a2b3c4d5e6f`,
    });
    fx.running.delete(rec.id);
    const out = await fx.images.remove("busybox", { force: true });
    assert.deepEqual(out.slice(0, 2), [{ Untagged: "busybox:latest" }, { Deleted: rec.id }]);
  });

  it("a second tag can go even while a container uses the image", async () => {
    const rec = await image("a");
    fx.images.tag(rec.id, "b");
    fx.inUse.set(rec.id, CONTAINER);
    assert.deepEqual(await fx.images.remove("b"), [{ Untagged: "b:latest" }]);
  });

  it("no such image is a 404 with Docker's message", async () => {
    await assert.rejects(fx.images.remove("nope"), { statusCode: 404, message: "No such image: nope:latest" });
  });

  it("shared layers stay while another image uses them", async () => {
    const base = await imp([{ name: "shared", data: "s" }], { repo: "base", created: "2020-01-01T00:00:00Z" });
    const twin = await imp([{ name: "shared", data: "s" }], { repo: "twin", created: "2021-01-01T00:00:00Z" });
    assert.notEqual(base.id, twin.id);
    assert.deepEqual(base.chainIds, twin.chainIds);
    const out = await fx.images.remove("base");
    assert.deepEqual(out, [{ Untagged: "base:latest" }, { Deleted: base.id }]);
    assert.ok(fx.snapshots.has(twin.chainIds[0]));
  });
});

describe("images: prune", () => {
  it("removes dangling images, then with dangling=false unused tagged ones", async () => {
    const first = await image("app");
    const second = await image("app"); // moves the tag: `first` is now dangling
    const used = await image("used");
    fx.inUse.set(used.id, CONTAINER);
    const report = await fx.images.prune();
    assert.deepEqual(report.ImagesDeleted, [{ Deleted: first.id }, { Deleted: first.chainIds[0] }]);
    assert.ok(report.SpaceReclaimed > 0);
    assert.deepEqual((await fx.images.prune()).ImagesDeleted, null);
    const all = await fx.images.prune(new Map([["dangling", ["false"]]]));
    assert.deepEqual(all.ImagesDeleted, [{ Untagged: "app:latest" }, { Deleted: second.id }, { Deleted: second.chainIds[0] }]);
    assert.ok(fx.images.get(used.id));
    await assert.rejects(fx.images.prune(new Map([["reference", ["x"]]])), { statusCode: 400 });
  });
});
