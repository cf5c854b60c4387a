import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { native } from "../../src/lib/native";
import { applyLayer } from "../../src/lib/tar/apply";
import { resolveInRoot } from "../../src/lib/tar/resolve";
import { packDirectory } from "../../src/lib/tar/write";
import { gzip, makeTar, tempDir, type TarEntry } from "../helpers/images";

/** Hostile and tricky layers: nothing may be written outside the target root. */

let base: string;
let outside: string;
let counter = 0;

before(() => {
  base = tempDir("tar-safety");
  outside = path.join(base, "outside");
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "victim"), "original");
});

after(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function newRoot(): string {
  const root = path.join(base, `root-${++counter}`);
  fs.mkdirSync(root);
  return root;
}

async function apply(root: string, entries: TarEntry[]) {
  return applyLayer(root, Readable.from([await makeTar(entries)]));
}

function outsideUntouched(): void {
  assert.deepEqual(fs.readdirSync(outside).sort(), ["victim"]);
  assert.equal(fs.readFileSync(path.join(outside, "victim"), "utf8"), "original");
}

describe("tar safety: names", () => {
  it("rejects ../ escapes", async () => {
    const root = newRoot();
    await assert.rejects(apply(root, [{ name: "../outside/victim", data: "pwned" }]), (err: Error & { statusCode?: number }) => {
      assert.equal(err.statusCode, 400);
      assert.match(err.message, /escapes the root/);
      return true;
    });
    await assert.rejects(apply(newRoot(), [{ name: "a/../../outside/new", data: "x" }]), /escapes the root/);
    outsideUntouched();
  });

  it("neutralises absolute names into the root", async () => {
    const root = newRoot();
    await apply(root, [{ name: `${outside}/victim`, data: "inside" }]);
    outsideUntouched();
    assert.equal(fs.readFileSync(path.join(root, outside, "victim"), "utf8"), "inside");
  });

  it("cleans a/../b and ./ prefixes", async () => {
    const root = newRoot();
    await apply(root, [{ name: "./a/../b", data: "b" }]);
    assert.equal(fs.readFileSync(path.join(root, "b"), "utf8"), "b");
  });
});

describe("tar safety: symlinks", () => {
  it("a write through an absolute symlink out lands inside the root", async () => {
    const root = newRoot();
    await apply(root, [
      { name: "evil", type: "symlink", linkname: outside },
      { name: "evil/victim", data: "pwned" },
      { name: "evil/new", data: "pwned" },
    ]);
    outsideUntouched();
    assert.equal(fs.readlinkSync(path.join(root, "evil")), outside);
    assert.equal(fs.readFileSync(path.join(root, outside, "victim"), "utf8"), "pwned");
  });

  it("a relative symlink climbing out is clamped at the root", async () => {
    const root = newRoot();
    const depth = root.split("/").length + 2;
    await apply(root, [
      { name: "up", type: "symlink", linkname: "../".repeat(depth) + outside.slice(1) },
      { name: "up/new", data: "pwned" },
    ]);
    outsideUntouched();
    assert.equal(fs.readFileSync(path.join(root, outside, "new"), "utf8"), "pwned");
  });

  it("an existing symlink at a file's path is replaced, not followed", async () => {
    const root = newRoot();
    await apply(root, [
      { name: "victim", type: "symlink", linkname: path.join(outside, "victim") },
      { name: "victim", data: "replaced" },
    ]);
    outsideUntouched();
    const st = fs.lstatSync(path.join(root, "victim"));
    assert.ok(st.isFile());
  });

  it("a directory replaced by a symlink out does not get its times set through the link", async () => {
    const root = newRoot();
    const before = fs.statSync(outside).mtimeMs;
    await apply(root, [
      { name: "d/", type: "directory", mtime: new Date(0) },
      { name: "d", type: "symlink", linkname: outside },
    ]);
    assert.equal(fs.statSync(outside).mtimeMs, before);
    assert.ok(fs.lstatSync(path.join(root, "d")).isSymbolicLink());
  });

  it("a symlink loop is a 400, not a hang", async () => {
    const root = newRoot();
    await assert.rejects(
      apply(root, [
        { name: "a", type: "symlink", linkname: "b" },
        { name: "b", type: "symlink", linkname: "a" },
        { name: "a/x", data: "x" },
      ]),
      /too many levels of symbolic links/,
    );
  });

  it("a file used as a directory is a 400", async () => {
    await assert.rejects(apply(newRoot(), [{ name: "f", data: "x" }, { name: "f/g", data: "y" }]), /not a directory/);
  });

  it("resolveInRoot never leaves the root", () => {
    const root = newRoot();
    fs.symlinkSync("/", path.join(root, "slash"));
    fs.symlinkSync("../../../../..", path.join(root, "dots"));
    assert.equal(resolveInRoot(root, "slash/etc/passwd"), path.join(root, "etc/passwd"));
    assert.equal(resolveInRoot(root, "dots/etc/passwd"), path.join(root, "etc/passwd"));
    assert.equal(resolveInRoot(root, "slash", true), root);
  });
});

describe("tar safety: hard links", () => {
  it("a hard link out of the root is refused", async () => {
    await assert.rejects(
      apply(newRoot(), [{ name: "h", type: "link", linkname: "../outside/victim" }]),
      /escapes the root/,
    );
    outsideUntouched();
  });

  it("a hard link through a symlink out is resolved inside (and missing there)", async () => {
    await assert.rejects(
      apply(newRoot(), [
        { name: "evil", type: "symlink", linkname: outside },
        { name: "h", type: "link", linkname: "evil/victim" },
      ]),
      /does not exist/,
    );
    outsideUntouched();
  });

  it("a hard link to an absolute name means the file inside the root", async () => {
    const root = newRoot();
    await apply(root, [
      { name: "etc/passwd", data: "inside" },
      { name: "h", type: "link", linkname: "/etc/passwd" },
    ]);
    assert.equal(fs.statSync(path.join(root, "h")).ino, fs.statSync(path.join(root, "etc/passwd")).ino);
  });

  it("a hard link to a symlink links the symlink itself", async () => {
    const root = newRoot();
    await apply(root, [
      { name: "s", type: "symlink", linkname: path.join(outside, "victim") },
      { name: "h", type: "link", linkname: "s" },
    ]);
    assert.ok(fs.lstatSync(path.join(root, "h")).isSymbolicLink());
    outsideUntouched();
  });
});

describe("tar: whiteouts and metadata", () => {
  it("writes whiteouts as 0:0 char devices and opaque dirs as xattrs", async () => {
    const root = newRoot();
    await apply(root, [
      { name: "dir/", type: "directory" },
      { name: "dir/.wh..wh..opq" },
      { name: "dir/kept", data: "k" },
      { name: "etc/.wh.gone" },
      { name: ".wh.toplevel" },
      { name: ".wh..wh.plnk" },
    ]);
    const gone = fs.lstatSync(path.join(root, "etc/gone"));
    assert.ok(gone.isCharacterDevice());
    assert.equal(gone.rdev, 0);
    assert.ok(fs.lstatSync(path.join(root, "toplevel")).isCharacterDevice());
    assert.equal(native().lgetxattr(path.join(root, "dir"), "trusted.overlay.opaque")?.toString(), "y");
    assert.equal(fs.readFileSync(path.join(root, "dir/kept"), "utf8"), "k");
    assert.ok(!fs.existsSync(path.join(root, ".wh..wh.plnk")));
    assert.ok(!fs.existsSync(path.join(root, "etc/.wh.gone")));
  });

  it("a whiteout replaces what the same layer wrote before", async () => {
    const root = newRoot();
    await apply(root, [{ name: "d/f", data: "x" }, { name: ".wh.d" }]);
    assert.ok(fs.lstatSync(path.join(root, "d")).isCharacterDevice());
  });

  it("a whiteout cannot name .. or be empty", async () => {
    await assert.rejects(apply(newRoot(), [{ name: ".wh." }]), /invalid whiteout name/);
  });

  it("never takes trusted.overlay.* xattrs from the tar", async () => {
    const root = newRoot();
    await apply(root, [
      { name: "d/", type: "directory", pax: { "SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.user.note": "hi" } },
    ]);
    assert.equal(native().lgetxattr(path.join(root, "d"), "trusted.overlay.redirect"), null);
    assert.equal(native().lgetxattr(path.join(root, "d"), "user.note")?.toString(), "hi");
  });

  it("keeps modes, owners, mtimes, devices, hard links and symlinks", async () => {
    const root = newRoot();
    const mtime = new Date("2001-02-03T04:05:06Z");
    await apply(root, [
      { name: "bin/", type: "directory", mode: 0o750, uid: 7, gid: 8, mtime },
      { name: "bin/tool", data: "#!", mode: 0o4755, uid: 1000, gid: 1000, mtime },
      { name: "bin/alias", type: "link", linkname: "bin/tool" },
      { name: "bin/sh", type: "symlink", linkname: "tool", uid: 5, gid: 6 },
      { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "dev/pipe", type: "fifo", mode: 0o600 },
      { name: "tmp/", type: "directory", mode: 0o1777 },
    ]);
    const dir = fs.statSync(path.join(root, "bin"));
    assert.equal(dir.mode & 0o7777, 0o750);
    assert.equal(dir.uid, 7);
    assert.equal(dir.mtime.getTime(), mtime.getTime());
    const tool = fs.statSync(path.join(root, "bin/tool"));
    assert.equal(tool.mode & 0o7777, 0o4755);
    assert.equal(tool.uid, 1000);
    assert.equal(tool.mtime.getTime(), mtime.getTime());
    assert.equal(fs.statSync(path.join(root, "bin/alias")).ino, tool.ino);
    const sh = fs.lstatSync(path.join(root, "bin/sh"));
    assert.ok(sh.isSymbolicLink());
    assert.equal(sh.uid, 5);
    const devnull = fs.lstatSync(path.join(root, "dev/null"));
    assert.ok(devnull.isCharacterDevice());
    assert.equal(devnull.rdev, (1 << 8) | 3);
    assert.ok(fs.lstatSync(path.join(root, "dev/pipe")).isFIFO());
    assert.equal(fs.statSync(path.join(root, "tmp")).mode & 0o7777, 0o1777);
  });

  it("computes the diff id over the uncompressed tar, gzip or not", async () => {
    const tarBuf = await makeTar([{ name: "a", data: "hello" }]);
    const want = `sha256:${createHash("sha256").update(tarBuf).digest("hex")}`;
    const plain = await applyLayer(newRoot(), Readable.from([tarBuf]));
    assert.equal(plain.diffId, want);
    assert.equal(plain.compression, "none");
    const gz = gzip(tarBuf);
    const packed = await applyLayer(newRoot(), Readable.from([gz]));
    assert.equal(packed.diffId, want);
    assert.equal(packed.compression, "gzip");
    assert.equal(packed.rawDigest, `sha256:${createHash("sha256").update(gz).digest("hex")}`);
    assert.equal(packed.tarSize, tarBuf.length);
  });

  it("rejects garbage and refuses unsupported compression clearly", async () => {
    await assert.rejects(applyLayer(newRoot(), Readable.from([Buffer.alloc(1024, 7)])), /invalid tar/);
    await assert.rejects(applyLayer(newRoot(), Readable.from([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])])), /unsupported compression format zstd/);
    await assert.rejects(applyLayer(newRoot(), Readable.from([gzip(Buffer.alloc(700, 1))])), /invalid tar/);
  });
});

describe("tar writer", () => {
  async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it("is deterministic, sorted, and turns overlay whiteouts back into .wh. entries", async () => {
    const root = newRoot();
    fs.mkdirSync(path.join(root, "b/opaque"), { recursive: true });
    fs.writeFileSync(path.join(root, "b/opaque/f"), "f");
    native().lsetxattr(path.join(root, "b/opaque"), "trusted.overlay.opaque", Buffer.from("y"));
    native().mknod(path.join(root, "b/removed"), 0o020000, 0, 0);
    fs.writeFileSync(path.join(root, "a"), "a");
    fs.linkSync(path.join(root, "a"), path.join(root, "c-hardlink"));
    fs.writeFileSync(path.join(root, "x".repeat(120)), "long");
    const one = await collect(packDirectory(root));
    const two = await collect(packDirectory(root));
    assert.ok(one.equals(two));

    const copy = newRoot();
    await applyLayer(copy, Readable.from([one]));
    assert.equal(native().lgetxattr(path.join(copy, "b/opaque"), "trusted.overlay.opaque")?.toString(), "y");
    assert.ok(fs.lstatSync(path.join(copy, "b/removed")).isCharacterDevice());
    assert.equal(fs.statSync(path.join(copy, "c-hardlink")).ino, fs.statSync(path.join(copy, "a")).ino);
    assert.equal(fs.readFileSync(path.join(copy, "x".repeat(120)), "utf8"), "long");

    const names: string[] = [];
    const tarStream = await import("tar-stream");
    const ex = tarStream.extract();
    const reading = (async () => {
      for await (const e of ex) {
        names.push(e.header.name);
        e.resume();
      }
    })();
    Readable.from([one]).pipe(ex as unknown as NodeJS.WritableStream);
    await reading;
    assert.deepEqual(names, ["a", "b/", "b/opaque/", "b/opaque/.wh..wh..opq", "b/opaque/f", "b/.wh.removed", "c-hardlink", "x".repeat(120)]);
  });

  it("keeps a mode of 0 (tar-stream's default would be 0644)", async () => {
    const root = newRoot();
    fs.writeFileSync(path.join(root, "shadow"), "secret");
    fs.chmodSync(path.join(root, "shadow"), 0);
    const copy = newRoot();
    await applyLayer(copy, Readable.from([await collect(packDirectory(root))]));
    assert.equal(fs.statSync(path.join(copy, "shadow")).mode & 0o7777, 0);
  });

  it("packs a layer it unpacked back into the same bytes when the tar was canonical", async () => {
    const root = newRoot();
    fs.mkdirSync(path.join(root, "d"));
    fs.writeFileSync(path.join(root, "d/file"), "content");
    fs.utimesSync(path.join(root, "d/file"), 1000, 1000);
    fs.utimesSync(path.join(root, "d"), 1000, 1000);
    const first = await collect(packDirectory(root));
    const copy = newRoot();
    await applyLayer(copy, Readable.from([first]));
    const second = await collect(packDirectory(copy));
    assert.ok(first.equals(second));
  });
});

describe("tar: archives without their end", () => {
  it("a layer that stops right after its last file's data (as umoci writes them) applies; its digest is of the bytes given", async () => {
    const whole = await makeTar([{ name: "a.txt", data: "first\n" }, { name: "b.txt", data: "hello-umoci\n" }]);
    // Cut after b.txt's 12 data bytes: no padding, no end-of-archive blocks.
    const cut = whole.subarray(0, 512 + 512 + 512 + 12);
    const root = newRoot();
    const result = await applyLayer(root, Readable.from([cut.subarray(0, 700), cut.subarray(700)]));
    assert.equal(fs.readFileSync(path.join(root, "b.txt"), "utf8"), "hello-umoci\n");
    assert.equal(result.diffId, `sha256:${createHash("sha256").update(cut).digest("hex")}`);
    assert.equal(result.tarSize, cut.length);
  });

  it("a layer cut inside a file's data or inside a header still fails", async () => {
    const whole = await makeTar([{ name: "a.txt", data: "x".repeat(2000) }]);
    await assert.rejects(applyLayer(newRoot(), Readable.from([whole.subarray(0, 512 + 1000)])), /Unexpected end of data|invalid tar/);
    await assert.rejects(applyLayer(newRoot(), Readable.from([whole.subarray(0, 300)])), /Unexpected end of data|invalid tar/);
  });
});
