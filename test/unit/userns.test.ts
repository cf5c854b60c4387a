import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { ensureSubordinateIds, subordinateRanges } from "../../src/engine/containers/subordinate-ids";
import { UsernsPolicy } from "../../src/engine/containers/userns-mode";
import { AUTO_RANGE_SIZE, UsernsPool } from "../../src/engine/containers/userns-pool";
import type { HostConfig } from "../../src/engine/containers/types";
import { Metadata } from "../../src/store/metadata";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-userns-unit-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function pool(slots: number, start = 1_000_000): { pool: UsernsPool; metadata: Metadata } {
  const metadata = new Metadata(tempDir());
  const range = { start, count: slots * AUTO_RANGE_SIZE };
  return { metadata, pool: new UsernsPool(metadata, { describe: "test pool", ranges: () => ({ uids: [range], gids: [range] }) }) };
}

describe("the --userns=auto pool", () => {
  it("hands out disjoint slots lowest first, the same one again to the same container, and a freed one again", () => {
    const { pool: p, metadata } = pool(3);
    const a = p.allocate("a");
    const b = p.allocate("b");
    assert.deepEqual(a, { uidBase: 1_000_000, gidBase: 1_000_000, size: AUTO_RANGE_SIZE });
    assert.equal(b.uidBase, 1_000_000 + AUTO_RANGE_SIZE);
    assert.deepEqual(p.allocate("a"), a);
    p.release("a");
    assert.deepEqual(p.allocate("c"), a);
    metadata.close();
  });

  it("says so when every slot is taken, and allocates nothing", () => {
    const { pool: p, metadata } = pool(1);
    p.allocate("only");
    assert.throws(() => p.allocate("second"), /no free user namespace range: all 1 ranges of 65536 ids in the pool \(test pool\) are in use/);
    assert.equal(p.count(), 1);
    metadata.close();
  });

  it("keeps allocations across a reopen and drops only those of containers that do not exist", () => {
    const dir = tempDir();
    const range = { start: 2_000_000, count: 4 * AUTO_RANGE_SIZE };
    const source = { describe: "t", ranges: () => ({ uids: [range], gids: [range] }) };
    const first = new Metadata(dir);
    new UsernsPool(first, source).allocate("kept");
    new UsernsPool(first, source).allocate("orphan");
    first.close();
    const second = new Metadata(dir);
    const reopened = new UsernsPool(second, source);
    assert.deepEqual(reopened.releaseAllBut(new Set(["kept"])), ["orphan"]);
    assert.equal(reopened.get("kept")?.uidBase, 2_000_000);
    assert.equal(reopened.allocate("new").uidBase, 2_000_000 + AUTO_RANGE_SIZE, "the kept range is not handed out again");
    second.close();
  });
});

describe("UsernsPolicy.choose", () => {
  const hc = (over: Partial<HostConfig>): HostConfig => ({ NetworkMode: "bridge", Privileged: false, UsernsMode: "", ...over }) as HostConfig;
  const policy = (defaultMode: "host" | "auto"): UsernsPolicy => new UsernsPolicy({ defaultMode, poolUser: "5000000:65536" }, new Metadata(tempDir()));

  it("follows the request, then the daemon's default", () => {
    assert.equal(policy("host").choose(hc({})).kind, "host");
    assert.equal(policy("auto").choose(hc({})).kind, "auto");
    assert.equal(policy("auto").choose(hc({ UsernsMode: "host" })).kind, "host");
    assert.equal(policy("host").choose(hc({ UsernsMode: "auto" })).kind, "auto");
  });

  it("refuses unknown modes and host namespaces or --privileged with a mapping, with dockerd's words", () => {
    const p = policy("host");
    assert.throws(() => p.choose(hc({ UsernsMode: "private" })), /invalid USER mode: private/);
    assert.throws(() => p.choose(hc({ UsernsMode: "auto", Privileged: true })), /privileged mode is incompatible with user namespaces\.  You must run the container in the host namespace when running privileged mode$/);
    assert.throws(() => p.choose(hc({ UsernsMode: "auto", NetworkMode: "host" })), /cannot share the host's network namespace when user namespaces are enabled/);
    assert.throws(() => p.choose(hc({ UsernsMode: "auto", PidMode: "host" })), /cannot share the host PID namespace when user namespaces are enabled/);
    assert.equal(p.choose(hc({ UsernsMode: "host", Privileged: true, NetworkMode: "host" })).kind, "host");
  });
});

describe("subordinate id files", () => {
  it("appends a range above every listed one to both files, once", () => {
    const dir = tempDir();
    const files = { uid: path.join(dir, "subuid"), gid: path.join(dir, "subgid") };
    fs.writeFileSync(files.uid, "alice:100000:65536\n");
    fs.writeFileSync(files.gid, "alice:100000:65536\nbob:300000:1000");
    ensureSubordinateIds("wharf", 131072, files);
    ensureSubordinateIds("wharf", 131072, files);
    assert.deepEqual(subordinateRanges(files.uid, ["wharf"]), [{ start: 327680, count: 131072 }]);
    assert.deepEqual(subordinateRanges(files.gid, ["wharf"]), [{ start: 327680, count: 131072 }]);
    assert.equal(fs.readFileSync(files.gid, "utf8"), "alice:100000:65536\nbob:300000:1000\nwharf:327680:131072\n");
  });
});
