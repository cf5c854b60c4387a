import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, ensureBusybox, run, startDaemon } from "../helpers/daemon";

const WHARFD = path.resolve(__dirname, "..", "..", "..", "bin", "wharfd");

/** wharfd --authorization-rules: requests the rules forbid are 403s, and nothing is created. */
describe("authorization rules", () => {
  let d: TestDaemon;
  let work: string;
  let allowed: string;
  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-authz-"));
    allowed = path.join(work, "allowed");
    fs.mkdirSync(allowed);
    fs.symlinkSync("/etc", path.join(allowed, "to-etc"));
    const rules = path.join(work, "rules.json");
    fs.writeFileSync(rules, JSON.stringify({ denyPrivileged: true, denyHostNamespaces: true, denyCapAdd: ["SYS_ADMIN"], allowedBindPaths: [allowed] }));
    d = await startDaemon(["--authorization-rules", rules]);
    await ensureBusybox(d);
  });
  after(async () => {
    await d?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("denied: --privileged, host namespaces, a denied capability, binds outside the allowed paths (also through a symlink)", async () => {
    const denied: Array<[string[], RegExp]> = [
      [["--privileged"], /--privileged is not allowed/],
      [["--network", "host"], /--network host is not allowed/],
      [["--pid", "host"], /--pid host is not allowed/],
      [["--cap-add", "SYS_ADMIN"], /--cap-add SYS_ADMIN is not allowed/],
      [["--cap-add", "ALL"], /--cap-add ALL is not allowed/],
      [["-v", "/etc:/host-etc"], /bind mount of \/etc is outside the allowed paths/],
      [["--mount", `type=bind,source=${allowed}/to-etc,target=/e`], /outside the allowed paths/],
    ];
    for (const [opts, message] of denied) {
      const r = await d.docker(["run", "--rm", "--pull", "never", ...opts, "busybox", "true"]);
      assert.equal(r.code, 125, `${opts.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /authorization denied by wharf rules \(rules\.json\)/);
      assert.match(r.stderr, message);
    }
    assert.equal((await d.docker(["ps", "-aq"])).stdout.trim(), "", "nothing was created");
  });

  test("allowed: other capabilities, binds under the allowed path; exec --privileged is denied", async () => {
    const ok = await d.docker(["run", "--rm", "--pull", "never", "--cap-add", "NET_ADMIN", "-v", `${allowed}:/a`, "busybox", "ls", "/a"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /to-etc/);
    assert.equal((await d.docker(["run", "-d", "--name", "authz", "--pull", "never", "busybox", "sleep", "300"])).code, 0);
    const exec = await d.docker(["exec", "--privileged", "authz", "true"]);
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, /exec --privileged is not allowed/);
    assert.equal((await d.docker(["exec", "authz", "true"])).code, 0);
    assert.equal((await d.docker(["rm", "-f", "authz"])).code, 0);
  });

  test("a rules file with an unknown rule stops the daemon at start", async () => {
    const bad = path.join(work, "bad.json");
    fs.writeFileSync(bad, JSON.stringify({ denyEverything: true }));
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-authz-bad-"));
    try {
      const r = await run(process.execPath, [WHARFD, "-H", `unix://${base}/s.sock`, "--data-root", `${base}/data`, "--exec-root", `${base}/exec`, "--cgroup-parent", "/wharf-test", "--bridge", "wtauthz0", "--bip", "10.254.98.1/24", "--authorization-rules", bad], { timeoutMs: 30_000 });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, /authorization rules .*bad\.json.*Unrecognized key/);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
