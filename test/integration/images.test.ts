import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { importImage } from "../../src/engine/images/import";
import { loadImages } from "../../src/engine/images/load";
import { planSave, writeSave } from "../../src/engine/images/save";
import type { ImageRecord } from "../../src/engine/images/types";
import { mountsUnder, unmountAll } from "../../src/store/mounts";
import { gzip, imageFixture, listTree, makeTar, tempDir, within, type ImageFixture, type TarEntry } from "../helpers/images";

/**
 * The image services for real, on a private data root: the busybox rootfs from
 * scripts/make-busybox-rootfs.sh, import, tag, save/load round trips, hand-made OCI layouts,
 * hostile archives, and an overlay mount of a container root filesystem.
 */

const SCRIPT = path.resolve(__dirname, "../../../scripts/make-busybox-rootfs.sh");
const CONTAINER = "c0ffee".padEnd(64, "1");
const T = 60_000;

let work: string;
let rootfsTar: string;
let fx: ImageFixture;
const extraFixtures: ImageFixture[] = [];
let busybox: ImageRecord;

before(() => {
  work = tempDir("images-it");
  rootfsTar = path.join(work, "rootfs.tar");
  execFileSync("bash", ["-c", `"${SCRIPT}" > "${rootfsTar}"`], { timeout: 30_000, stdio: ["ignore", "ignore", "inherit"] });
  fx = imageFixture(path.join(work, "data"));
});

after(() => {
  // Even after a failed test: no mount may stay behind, then everything goes.
  for (const m of mountsUnder(work).reverse()) unmountAll(m);
  for (const f of [fx, ...extraFixtures]) f?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function save(f: ImageFixture, names: string[]): Promise<Buffer> {
  return within(T, "save", collect(writeSave(f.images, planSave(f.images, names))));
}

async function tarEntries(buf: Buffer): Promise<Map<string, { type: string; linkname?: string; data: Buffer }>> {
  const tarStream = await import("tar-stream");
  const ex = tarStream.extract();
  const out = new Map<string, { type: string; linkname?: string; data: Buffer }>();
  const reading = (async () => {
    for await (const e of ex) out.set(e.header.name, { type: e.header.type, linkname: e.header.linkname ?? undefined, data: await collect(e) });
  })();
  Readable.from([buf]).pipe(ex as unknown as NodeJS.WritableStream);
  await reading;
  return out;
}

/** Everything stored (files under the data root, and what the service lists) for "nothing changed". */
function state(f: ImageFixture): string {
  const files = listTree(f.root).filter((p) => !p.startsWith("wharf.db") && !p.startsWith("tmp"));
  return JSON.stringify({ files, images: f.images.list(), layers: f.snapshots.list().map((l) => l.chainId) });
}

function sha(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

describe("images: busybox rootfs", () => {
  it("the script is reproducible", () => {
    const again = execFileSync("bash", [SCRIPT], { timeout: 30_000, maxBuffer: 64 << 20 });
    assert.ok(again.equals(fs.readFileSync(rootfsTar)));
  });

  it("imports as busybox:latest with CMD [sh]", async () => {
    busybox = await within(T, "import", importImage(fx.images, fs.createReadStream(rootfsTar), {
      repo: "busybox",
      tag: "latest",
      changes: ['CMD ["sh"]'],
      message: "",
      created: "2000-01-01T00:00:00Z",
    }));
    const inspect = fx.images.inspect("busybox");
    assert.equal(inspect.Id, busybox.id);
    assert.deepEqual(inspect.Config.Cmd, ["sh"]);
    assert.deepEqual(inspect.RootFS.Layers, [sha(fs.readFileSync(rootfsTar))]);
    const fsDir = fx.images.layerDirs(busybox)[0];
    assert.ok(fs.statSync(path.join(fsDir, "bin/busybox")).isFile());
    assert.equal(fs.readlinkSync(path.join(fsDir, "bin/sh")), "/bin/busybox");
    assert.equal(fs.statSync(path.join(fsDir, "home/app")).uid, 1000);
    assert.equal(fs.statSync(path.join(fsDir, "tmp")).mode & 0o7777, 0o1777);
    assert.match(fs.readFileSync(path.join(fsDir, "etc/passwd"), "utf8"), /^app:x:1000:1000:app:\/home\/app:\/bin\/sh$/m);
  });

  it("tags, lists, shows history", () => {
    fx.images.tag("busybox", "localhost:5000/tools/busybox:1.35");
    const [summary] = fx.images.list();
    assert.deepEqual(summary.RepoTags, ["busybox:latest", "localhost:5000/tools/busybox:1.35"]);
    assert.equal(summary.Created, 946684800);
    const history = fx.images.history("localhost:5000/tools/busybox:1.35");
    assert.equal(history.length, 1);
    assert.equal(history[0].Id, busybox.id);
    assert.ok(history[0].Size > 1_000_000);
  });
});

describe("images: save and load", () => {
  let archive: Buffer;

  it("saves a Docker 20.10 layout plus an OCI layout", async () => {
    archive = await save(fx, ["busybox", "localhost:5000/tools/busybox:1.35"]);
    const entries = await tarEntries(archive);
    const manifest = JSON.parse(entries.get("manifest.json")?.data.toString() ?? "null");
    assert.equal(manifest.length, 1);
    assert.equal(manifest[0].Config, `${busybox.id.slice(7)}.json`);
    assert.deepEqual(manifest[0].RepoTags, ["busybox:latest", "localhost:5000/tools/busybox:1.35"]);
    const layerPath: string = manifest[0].Layers[0];
    assert.match(layerPath, /^[a-f0-9]{64}\/layer\.tar$/);
    const link = entries.get(layerPath);
    assert.equal(link?.type, "symlink");
    const target = path.posix.join(path.posix.dirname(layerPath), link?.linkname ?? "");
    assert.equal(target, `blobs/sha256/${busybox.config.rootfs.diff_ids[0].slice(7)}`);
    assert.ok(entries.get(target)?.data.equals(fs.readFileSync(rootfsTar)));
    assert.equal(entries.get(`${path.posix.dirname(layerPath)}/VERSION`)?.data.toString(), "1.0");
    assert.ok(entries.get(`${busybox.id.slice(7)}.json`)?.data.equals(fx.images.configBytes(busybox.id)));
    const repositories = JSON.parse(entries.get("repositories")?.data.toString() ?? "{}");
    assert.equal(repositories.busybox.latest, path.posix.dirname(layerPath));
    assert.deepEqual(JSON.parse(entries.get("oci-layout")?.data.toString() ?? "{}"), { imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(entries.get("index.json")?.data.toString() ?? "{}");
    assert.equal(index.manifests.length, 2);
    assert.equal(index.manifests[0].annotations["io.containerd.image.name"], "docker.io/library/busybox:latest");
    const ociManifest = JSON.parse(entries.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)?.data.toString() ?? "{}");
    assert.equal(ociManifest.config.digest, busybox.id);
    // Deterministic: the same save twice is the same bytes.
    assert.ok((await save(fx, ["busybox", "localhost:5000/tools/busybox:1.35"])).equals(archive));
  });

  it("loads into a fresh data root with the same image id", async () => {
    const other = imageFixture(path.join(work, "data2"));
    extraFixtures.push(other);
    const result = await within(T, "load", loadImages(other.images, Readable.from([archive])));
    assert.deepEqual(result.messages, ["Loaded image: busybox:latest", "Loaded image: localhost:5000/tools/busybox:1.35"]);
    assert.equal(other.images.resolve("busybox").id, busybox.id);
    assert.deepEqual(other.images.resolve(busybox.id).chainIds, busybox.chainIds);
    // Saved again from there: byte for byte what the first store wrote.
    assert.ok((await save(other, ["busybox", "localhost:5000/tools/busybox:1.35"])).equals(archive));
  });

  it("round-trips through rmi in the same store, gzip-compressed", async () => {
    const one = await save(fx, ["busybox"]);
    await fx.images.remove("localhost:5000/tools/busybox:1.35");
    const out = await fx.images.remove("busybox");
    assert.deepEqual(out.map((o) => Object.keys(o)[0]), ["Untagged", "Deleted", "Deleted"]);
    assert.equal(fx.snapshots.list().length, 0);
    const result = await within(T, "load", loadImages(fx.images, Readable.from([gzip(one)])));
    assert.deepEqual(result.images, [{ id: busybox.id, tags: ["busybox:latest"] }]);
  });

  it("saving an untagged image by id says Loaded image ID", async () => {
    const other = imageFixture(path.join(work, "data3"));
    extraFixtures.push(other);
    const result = await loadImages(other.images, Readable.from([await save(fx, [busybox.id.slice(7, 19)])]));
    assert.deepEqual(result.messages, [`Loaded image ID: ${busybox.id}`]);
    await assert.rejects(save(fx, ["nothere"]), { statusCode: 404, message: "No such image: nothere:latest" });
  });
});

/** A hand-made OCI image layout: oci-layout, index.json, blobs (gzip layer). */
async function ociArchive(opts: { refName?: string; nested?: boolean; corruptLayer?: boolean } = {}): Promise<{ tar: Buffer; configDigest: string }> {
  const layerTar = await makeTar([{ name: "hello.txt", data: "hello from oci" }, { name: "bin/", type: "directory" }]);
  const layerGz = gzip(layerTar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: process.arch === "arm64" ? "arm64" : "amd64",
      os: "linux",
      created: "2023-01-01T00:00:00Z",
      config: { Cmd: ["/hello"] },
      rootfs: { type: "layers", diff_ids: [sha(layerTar)] },
      history: [{ created: "2023-01-01T00:00:00Z", created_by: "hand made" }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(layerGz), size: layerGz.length }],
    }),
  );
  const tampered = Buffer.from(layerGz);
  tampered[Math.floor(tampered.length / 2)] ^= 0xff;
  const blobs: Buffer[] = [config, manifest, opts.corruptLayer ? tampered : layerGz];
  let top = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(manifest), size: manifest.length };
  const entries: TarEntry[] = [{ name: "oci-layout", data: JSON.stringify({ imageLayoutVersion: "1.0.0" }) }];
  if (opts.nested) {
    const inner = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { ...top, platform: { architecture: "s390x", os: "linux" } },
          { ...top, platform: { architecture: process.arch === "arm64" ? "arm64" : "amd64", os: "linux" } },
        ],
      }),
    );
    blobs.push(inner);
    top = { mediaType: "application/vnd.oci.image.index.v1+json", digest: sha(inner), size: inner.length };
  }
  const annotations = opts.refName ? { "org.opencontainers.image.ref.name": opts.refName } : undefined;
  entries.push({ name: "index.json", data: JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations }] }) });
  entries.push({ name: "blobs/", type: "directory" }, { name: "blobs/sha256/", type: "directory" });
  const seen = new Set<string>();
  for (const b of blobs) {
    const name = `blobs/sha256/${sha(b === blobs[2] ? layerGz : b).slice(7)}`;
    if (seen.has(name)) continue;
    seen.add(name);
    entries.push({ name, data: b });
  }
  return { tar: await makeTar(entries), configDigest: sha(config) };
}

describe("images: OCI layout archives", () => {
  it("loads a hand-made OCI layout with a gzip layer and a ref.name", async () => {
    const { tar, configDigest } = await ociArchive({ refName: "oci/hello:1.0" });
    const result = await within(T, "load", loadImages(fx.images, Readable.from([tar])));
    assert.deepEqual(result.messages, ["Loaded image: oci/hello:1.0"]);
    const rec = fx.images.resolve("oci/hello:1.0");
    assert.equal(rec.id, configDigest);
    assert.equal(fs.readFileSync(path.join(fx.images.layerDirs(rec)[0], "hello.txt"), "utf8"), "hello from oci");
    assert.deepEqual(fx.images.history("oci/hello:1.0")[0].CreatedBy, "hand made");
  });

  it("picks this machine's platform from a nested index; a bare tag loads untagged", async () => {
    const { tar, configDigest } = await ociArchive({ nested: true, refName: "latest" });
    const result = await loadImages(fx.images, Readable.from([tar]));
    assert.deepEqual(result.messages, [`Loaded image ID: ${configDigest}`]);
  });
});

describe("images: corrupt and hostile archives change nothing", () => {
  async function rejectsCleanly(archive: Buffer, pattern: RegExp): Promise<void> {
    const before = state(fx);
    await assert.rejects(within(T, "load", loadImages(fx.images, Readable.from([archive]))), (err: Error & { statusCode?: number }) => {
      assert.match(err.message, pattern);
      assert.equal(err.statusCode, 400);
      return true;
    });
    assert.equal(state(fx), before);
    assert.deepEqual(fs.readdirSync(path.join(fx.root, "tmp", "images")), []);
  }

  async function dockerArchive(layer: Buffer, diffId: string, extra: TarEntry[] = [], layerPath = "l1/layer.tar", tags = ["evil:latest"]): Promise<Buffer> {
    const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diffId] } });
    return makeTar([
      { name: `${sha(config).slice(7)}.json`, data: config },
      { name: "l1/layer.tar", data: layer },
      ...extra,
      { name: "manifest.json", data: JSON.stringify([{ Config: `${sha(config).slice(7)}.json`, RepoTags: tags, Layers: [layerPath] }]) },
    ]);
  }

  it("a layer that does not match its diff id", async () => {
    const layer = await makeTar([{ name: "x", data: "x" }]);
    await rejectsCleanly(await dockerArchive(layer, sha("something else")), /invalid diffID/);
  });

  it("a layer whose own entries escape", async () => {
    const layer = await makeTar([{ name: "../../escape", data: "x" }]);
    await rejectsCleanly(await dockerArchive(layer, sha(layer)), /escapes the root/);
    assert.ok(!fs.existsSync(path.join(fx.root, "escape")));
  });

  it("archive entries with .. or absolute names", async () => {
    const layer = await makeTar([{ name: "x", data: "x" }]);
    await rejectsCleanly(await dockerArchive(layer, sha(layer), [{ name: "../../../evil", data: "x" }]), /escapes the archive root/);
    await rejectsCleanly(await dockerArchive(layer, sha(layer), [{ name: "/tmp/evil", data: "x" }]), /absolute path/);
  });

  it("manifest paths that leave the archive or go through a symlink out", async () => {
    const passwd = fs.readFileSync("/etc/passwd");
    await rejectsCleanly(await dockerArchive(Buffer.alloc(0), sha(passwd), [], "../../../../etc/passwd"), /escapes the archive root/);
    await rejectsCleanly(
      await dockerArchive(Buffer.alloc(0), sha(passwd), [{ name: "evil", type: "symlink", linkname: "/etc" }], "evil/passwd"),
      /is missing/,
    );
    await rejectsCleanly(
      await dockerArchive(Buffer.alloc(0), sha(passwd), [{ name: "evil", type: "symlink", linkname: "/etc" }, { name: "evil/passwd", data: "x" }]),
      /goes through a symlink/,
    );
  });

  it("a tampered OCI blob, a truncated archive, garbage, a bad tag", async () => {
    await rejectsCleanly((await ociArchive({ refName: "x/y:1", corruptLayer: true })).tar, /digest|invalid tar|unexpected end/i);
    const good = (await ociArchive({ refName: "x/y:1" })).tar;
    await rejectsCleanly(good.subarray(0, good.length - 1500), /invalid archive|invalid tar|Unexpected end/);
    await rejectsCleanly(Buffer.from("this is not a tar at all".repeat(40)), /invalid archive/);
    const layer = await makeTar([{ name: "x", data: "x" }]);
    await rejectsCleanly(await dockerArchive(layer, sha(layer), [], "l1/layer.tar", ["Upper:case"]), /must be lowercase/);
  });

  it("two images where the second is bad: neither is stored", async () => {
    const goodLayer = await makeTar([{ name: "good", data: "g" }]);
    const goodConfig = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(goodLayer)] } });
    const badConfig = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha("nope")] } });
    const archive = await makeTar([
      { name: "good.tar", data: goodLayer },
      { name: "good.json", data: goodConfig },
      { name: "bad.json", data: badConfig },
      {
        name: "manifest.json",
        data: JSON.stringify([
          { Config: "good.json", RepoTags: ["good:1"], Layers: ["good.tar"] },
          { Config: "bad.json", RepoTags: ["bad:1"], Layers: ["good.tar"] },
        ]),
      },
    ]);
    await rejectsCleanly(archive, /invalid diffID/);
  });
});

describe("images: container root filesystem (overlay)", () => {
  it("mounts busybox, writes land in upper only, whiteouts on delete", async () => {
    const rec = fx.images.resolve("busybox");
    const lower = fx.images.layerDirs(rec)[0];
    await fx.snapshots.create(CONTAINER);
    const merged = await fx.snapshots.mount(CONTAINER, fx.images.layerDirs(rec));
    assert.equal(await fx.snapshots.mount(CONTAINER, fx.images.layerDirs(rec)), merged); // idempotent
    assert.equal(mountsUnder(merged).length, 1);
    assert.ok(fs.statSync(path.join(merged, "bin/busybox")).isFile());
    const out = execFileSync("chroot", [merged, "/bin/sh", "-c", "echo hi from $(id -un) > /root/note; cat /root/note"], { timeout: 10_000 });
    assert.equal(out.toString(), "hi from root\n");
    const upper = fx.snapshots.upperPath(CONTAINER);
    assert.equal(fs.readFileSync(path.join(upper, "root/note"), "utf8"), "hi from root\n");
    assert.ok(!fs.existsSync(path.join(lower, "root/note")));
    fs.rmSync(path.join(merged, "etc/group"));
    assert.ok(fs.lstatSync(path.join(upper, "etc/group")).isCharacterDevice());
    assert.ok(fs.existsSync(path.join(lower, "etc/group")));

    // A forced rmi keeps the layers the container sits on.
    fx.inUse.set(rec.id, CONTAINER);
    const removed = await fx.images.remove("busybox", { force: true });
    assert.ok(removed.some((r) => "Deleted" in r && r.Deleted === rec.id));
    assert.ok(fs.existsSync(path.join(merged, "bin/busybox")));
    assert.ok(fx.snapshots.has(rec.chainIds[0]));

    await fx.snapshots.unmount(CONTAINER);
    await fx.snapshots.unmount(CONTAINER); // idempotent
    assert.deepEqual(mountsUnder(merged), []);
    // Remounting shows the container's own changes again.
    const again = await fx.snapshots.mount(CONTAINER, [lower]);
    assert.equal(fs.readFileSync(path.join(again, "root/note"), "utf8"), "hi from root\n");
    assert.ok(!fs.existsSync(path.join(again, "etc/group")));
    await fx.snapshots.remove(CONTAINER);
    await fx.snapshots.remove(CONTAINER); // idempotent
    assert.deepEqual(mountsUnder(fx.root), []);
    assert.ok(!fs.existsSync(path.dirname(merged)));
    fx.inUse.delete(rec.id);
    const gone = await fx.images.gc();
    assert.deepEqual(gone.map((l) => l.chainId), rec.chainIds);
  });
});
