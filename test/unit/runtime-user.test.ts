import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readFileInRoot } from "../../src/runtime/rootfs-path";
import { resolveUser, resolveUserFromFiles } from "../../src/runtime/user";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  "app:x:1000:1000:app:/home/app:/bin/sh",
  "# a comment",
  "broken line",
  "",
].join("\n");
const GROUP = ["root:x:0:", "wheel:x:10:root", "app:x:1000:", "staff:x:50:app,other", "video:x:44:app", "nogroup:x:65534:", ""].join("\n");

describe("resolveUserFromFiles (Docker's GetExecUser rules)", () => {
  const r = (spec: string, passwd: string | null = PASSWD, group: string | null = GROUP) => resolveUserFromFiles(spec, passwd, group);

  it("defaults to root with root's groups", () => {
    assert.deepEqual(r(""), { uid: 0, gid: 0, additionalGids: [0, 10], home: "/root" });
  });

  it("resolves a name, with the primary gid and memberships as supplementary groups", () => {
    assert.deepEqual(r("app"), { uid: 1000, gid: 1000, additionalGids: [1000, 50, 44], home: "/home/app" });
  });

  it("treats a numeric user as a uid, listed or not", () => {
    assert.deepEqual(r("1000"), { uid: 1000, gid: 1000, additionalGids: [1000, 50, 44], home: "/home/app" });
    assert.deepEqual(r("4242"), { uid: 4242, gid: 0, additionalGids: [0], home: "/" });
  });

  it("uses an explicit group (name or number) as the only group", () => {
    assert.deepEqual(r("app:staff"), { uid: 1000, gid: 50, additionalGids: [50], home: "/home/app" });
    assert.deepEqual(r("1000:44"), { uid: 1000, gid: 44, additionalGids: [44], home: "/home/app" });
    assert.deepEqual(r("4242:4343"), { uid: 4242, gid: 4343, additionalGids: [4343], home: "/" });
    assert.deepEqual(r("nobody:nogroup").gid, 65534);
  });

  it("fails like Docker for unknown names", () => {
    assert.throws(() => r("ghost"), (e: Error & { statusCode?: number }) => {
      assert.equal(e.statusCode, 400);
      assert.equal(e.message, "unable to find user ghost: no matching entries in passwd file");
      return true;
    });
    assert.throws(() => r("app:ghosts"), /unable to find group ghosts: no matching entries in group file/);
  });

  it("works without passwd or group files for numeric ids only", () => {
    assert.deepEqual(r("123:456", null, null), { uid: 123, gid: 456, additionalGids: [456], home: "/" });
    assert.deepEqual(r("", null, null), { uid: 0, gid: 0, additionalGids: [0], home: "/" });
    assert.throws(() => r("app", null, null), /unable to find user app/);
  });

  it("rejects ids out of range", () => {
    assert.throws(() => r("4294967296"), /uids and gids must be in range/);
  });
});

describe("resolveUser inside a container root", () => {
  let tmp: string;
  let root: string;
  let secret: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-user-"));
    root = path.join(tmp, "root");
    fs.mkdirSync(path.join(root, "etc"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/passwd"), PASSWD);
    fs.writeFileSync(path.join(root, "etc/group"), GROUP);
    // A "host" file outside the root that hostile links aim at.
    secret = path.join(tmp, "shadow");
    fs.writeFileSync(secret, "evil:x:0:0:evil:/:/bin/sh\n");
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function makeRoot(name: string, build: (r: string) => void): string {
    const r = path.join(tmp, name);
    fs.mkdirSync(r, { recursive: true });
    build(r);
    return r;
  }

  it("reads the container's files", async () => {
    assert.deepEqual(await resolveUser(root, "app"), { uid: 1000, gid: 1000, additionalGids: [1000, 50, 44], home: "/home/app" });
  });

  it("never follows an absolute symlink out of the root", async () => {
    const r = makeRoot("abs", (r) => {
      fs.mkdirSync(path.join(r, "etc"));
      fs.symlinkSync(secret, path.join(r, "etc/passwd")); // e.g. /etc/shadow of the host
    });
    await assert.rejects(resolveUser(r, "evil"), /unable to find user evil/);
    // The same link resolved inside the root finds the root's copy of that path.
    fs.mkdirSync(path.join(r, path.dirname(secret)), { recursive: true });
    fs.writeFileSync(path.join(r, secret), "inside:x:7:7::/:/bin/sh\n");
    assert.equal((await resolveUser(r, "inside")).uid, 7);
  });

  it("never climbs out with ../ links or a symlinked /etc", async () => {
    const r1 = makeRoot("rel", (r) => {
      fs.mkdirSync(path.join(r, "etc"));
      fs.symlinkSync("../../../../../../../../" + secret, path.join(r, "etc/passwd"));
    });
    await assert.rejects(resolveUser(r1, "evil"), /unable to find user evil/);
    const r2 = makeRoot("etclink", (r) => fs.symlinkSync(path.dirname(secret), path.join(r, "etc")));
    assert.equal(await readFileInRoot(r2, "/etc/shadow"), null);
    const r3 = makeRoot("dotdot", (r) => fs.mkdirSync(path.join(r, "etc")));
    assert.equal(await readFileInRoot(r3, "/../../../../" + secret), null);
  });

  it("follows links that stay inside the root", async () => {
    const r = makeRoot("inside", (r) => {
      fs.mkdirSync(path.join(r, "real/etc"), { recursive: true });
      fs.writeFileSync(path.join(r, "real/etc/passwd"), PASSWD);
      fs.symlinkSync("real/etc", path.join(r, "etc"));
    });
    assert.equal((await resolveUser(r, "app")).uid, 1000);
  });

  it("refuses non-regular files without blocking (FIFO) and loops", async () => {
    const r = makeRoot("fifo", (r) => {
      fs.mkdirSync(path.join(r, "etc"));
      execFileSync("mkfifo", [path.join(r, "etc/passwd")]);
    });
    await assert.rejects(resolveUser(r, "app"), (e: Error & { statusCode?: number }) => e.statusCode === 400 && /not a regular file/.test(e.message));
    const loop = makeRoot("loop", (r) => {
      fs.mkdirSync(path.join(r, "etc"));
      fs.symlinkSync("passwd", path.join(r, "etc/passwd"));
    });
    await assert.rejects(resolveUser(loop, "app"), /too many levels of symbolic links/);
  });

  it("treats a missing /etc/passwd as empty", async () => {
    const r = makeRoot("empty", () => undefined);
    assert.deepEqual(await resolveUser(r, "1000:1000"), { uid: 1000, gid: 1000, additionalGids: [1000], home: "/" });
    await assert.rejects(resolveUser(r, "app"), /unable to find user app: no matching entries in passwd file/);
  });
});
