import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, run, succeeded, useDaemon } from "../helpers/daemon";
import { userExists } from "../../src/engine/containers/subordinate-ids";

/**
 * Per-container user namespaces (docs/userns.md): `--userns=auto` ranges from the daemon's
 * pool, seen from the host through /proc/PID/uid_map; image layers shared through idmapped
 * mounts (or owner-shifted copies); volumes, binds, exec, logs, cp, restart and networking in a
 * mapped container; Docker's errors; a crash that must not hand a range out twice.
 *
 * Each daemon gets an explicit pool (--userns-pool START:COUNT) far from /etc/subuid's ranges,
 * so no test edits host files and no two daemons share ids.
 */

const RANGE = 65536;
const POOL_START = 3_000_000_000 + Math.floor(Math.random() * 1000) * 8 * RANGE;

interface IdMap {
  inside: number;
  outside: number;
  size: number;
}

/** The first line of /proc/PID/uid_map (or gid_map) of a host process. */
function idMapOf(pid: number, kind: "uid_map" | "gid_map" = "uid_map"): IdMap {
  const [inside, outside, size] = fs.readFileSync(`/proc/${pid}/${kind}`, "utf8").trim().split("\n")[0].trim().split(/\s+/).map(Number);
  return { inside, outside, size };
}

/** The real uid a host process runs as (/proc/PID/status). */
function hostUidOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("Uid:")) ?? "";
  return Number(line.split(/\s+/)[1]);
}

async function pidOf(d: TestDaemon, name: string): Promise<number> {
  return Number(succeeded(await d.wharf(["inspect", "-f", "{{.State.Pid}}", name])).trim());
}

/** Mount points (with their options) under a directory, from our mount table. */
function mountsUnder(dir: string): Array<{ mountPoint: string; options: string }> {
  const out: Array<{ mountPoint: string; options: string }> = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 6) continue;
    const mountPoint = fields[4].replace(/\\040/g, " ");
    if (mountPoint.startsWith(`${dir}/`)) out.push({ mountPoint, options: `${fields[5]} ${fields.slice(6).join(" ")}` });
  }
  return out;
}

/** The unpacked layer dirs of the store: <data-root>/snapshots/<64 hex>/fs. */
function layerDirs(d: TestDaemon): string[] {
  const root = path.join(d.dataRoot, "snapshots");
  return fs
    .readdirSync(root)
    .filter((n) => /^[a-f0-9]{64}$/.test(n))
    .map((n) => path.join(root, n, "fs"))
    .sort();
}

/** A mapped root must reach its root filesystem: the private daemon's base dir (0700) becomes searchable. */
function letMappedRootsIn(d: TestDaemon): void {
  fs.chmodSync(path.dirname(d.dataRoot), 0o711);
}

describe("--userns=auto: a private range of ids per container", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon), ["--userns-pool", `${POOL_START}:${4 * RANGE}`]);
  let work: string;
  before(() => {
    letMappedRootsIn(d);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-userns-"));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  test("root inside, the range's base outside; inspect shows UsernsMode auto; exec is mapped too", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "mapped", "--userns=auto", "busybox", "sleep", "300"]));
    try {
      const pid = await pidOf(d, "mapped");
      const map = idMapOf(pid);
      assert.equal(map.inside, 0);
      assert.equal(map.size, RANGE);
      assert.ok(map.outside >= POOL_START && map.outside < POOL_START + 4 * RANGE, `base ${map.outside} is from the pool`);
      assert.equal(idMapOf(pid, "gid_map").outside, map.outside);
      assert.equal(hostUidOf(pid), map.outside, "the container's root is the unprivileged base uid on the host");
      assert.equal(succeeded(await d.wharf(["exec", "mapped", "id"])).trim(), "uid=0(root) gid=0(root) groups=0(root)");
      assert.equal(succeeded(await d.wharf(["exec", "mapped", "cat", "/proc/self/uid_map"])).trim().split(/\s+/)[1], String(map.outside));
      assert.equal(succeeded(await d.wharf(["inspect", "-f", "{{.HostConfig.UsernsMode}}", "mapped"])).trim(), "auto");
      // The image's files are root's inside, though nothing on disk was chowned.
      assert.match(succeeded(await d.wharf(["exec", "mapped", "ls", "-ln", "/bin/busybox"])), /^\S+\s+\d+\s+0\s+0\s/);
    } finally {
      await d.wharf(["rm", "-f", "mapped"]);
    }
    // The host's ids stay the default.
    assert.equal(succeeded(await d.wharf(["run", "--rm", "busybox", "cat", "/proc/self/uid_map"])).trim().split(/\s+/).join(" "), "0 0 4294967295");
  });

  test("two containers get non-overlapping ranges; a removed container's range is handed out again", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "ua", "--userns=auto", "busybox", "sleep", "300"]));
    succeeded(await d.wharf(["run", "-d", "--name", "ub", "--userns=auto", "busybox", "sleep", "300"]));
    try {
      const a = idMapOf(await pidOf(d, "ua"));
      const b = idMapOf(await pidOf(d, "ub"));
      assert.ok(a.outside + a.size <= b.outside || b.outside + b.size <= a.outside, `ranges overlap: ${JSON.stringify({ a, b })}`);
      succeeded(await d.wharf(["rm", "-f", "ua"]));
      succeeded(await d.wharf(["run", "-d", "--name", "uc", "--userns=auto", "busybox", "sleep", "300"]));
      const c = idMapOf(await pidOf(d, "uc"));
      // Slots go lowest first: the first container holds the pool's first range, and gets it back.
      assert.equal(a.outside, POOL_START);
      assert.equal(c.outside, a.outside, "the freed range is handed out again");
      assert.notEqual(c.outside, b.outside);
    } finally {
      await d.wharf(["rm", "-f", "ua", "ub", "uc"]);
    }
  });

  test("the container's root cannot read a host root's 0600 file, mount, load modules or write /proc/sys", async () => {
    const secret = path.join(work, "secret");
    fs.writeFileSync(secret, "host secret\n", { mode: 0o600 });
    const script = [
      "cat /secret >/dev/null 2>&1 && echo read-ok || echo read-denied",
      "mount -t tmpfs none /mnt 2>/dev/null && echo mount-ok || echo mount-denied",
      "echo 1 2>/dev/null >/proc/sys/vm/drop_caches && echo sysctl-ok || echo sysctl-denied",
      "insmod /nonexistent.ko 2>/dev/null; echo > /dev/null",
      "echo x > /bin/probe-write && echo layer-write-ok",
    ].join("; ");
    const mapped = succeeded(await d.wharf(["run", "--rm", "--userns=auto", "-v", `${secret}:/secret:ro`, "busybox", "sh", "-c", script]));
    assert.match(mapped, /read-denied/);
    assert.match(mapped, /mount-denied/);
    assert.match(mapped, /sysctl-denied/);
    assert.match(mapped, /layer-write-ok/, "the container's own layer is writable by its root");
    // Even with CAP_SYS_MODULE asked for, module loading is the host's root's only.
    const modules = await d.wharf(["run", "--rm", "--userns=auto", "--cap-add", "SYS_MODULE", "busybox", "sh", "-c", "insmod /bin/busybox 2>&1; echo rc=$?"]);
    assert.doesNotMatch(modules.stdout, /rc=0/);
    // The same container with the host's ids can read it: the denial above is the namespace's doing.
    assert.match(succeeded(await d.wharf(["run", "--rm", "--userns=host", "-v", `${secret}:/secret:ro`, "busybox", "cat", "/secret"])), /host secret/);
  });

  test("image layers are shared, not copied or chowned: the overlay's lowers are idmapped mounts of them", async () => {
    const before = layerDirs(d);
    const ownerBefore = before.map((dir) => fs.lstatSync(dir).uid);
    succeeded(await d.wharf(["run", "-d", "--name", "layers", "--userns=auto", "busybox", "sleep", "300"]));
    try {
      const id = succeeded(await d.wharf(["inspect", "-f", "{{.Id}}", "layers"])).trim();
      const base = idMapOf(await pidOf(d, "layers")).outside;
      const containerDir = path.join(d.dataRoot, "snapshots", "containers", id);
      const lowers = mountsUnder(containerDir).filter((m) => m.mountPoint.startsWith(path.join(containerDir, "m") + "/"));
      assert.ok(lowers.length >= 1, "idmapped lower mounts exist");
      for (const lower of lowers) {
        assert.match(lower.options, /idmapped/, `${lower.mountPoint} is idmapped`);
        const seen = fs.statSync(lower.mountPoint);
        const shared = before.find((dir) => {
          const st = fs.statSync(dir);
          return st.ino === seen.ino && st.dev === seen.dev;
        });
        assert.ok(shared, `${lower.mountPoint} is one of the store's layer dirs`);
        assert.equal(fs.statSync(shared).uid, 0, "on disk the layer stays root's");
        assert.equal(seen.uid, base, "through the mount it is the container's root's");
      }
      assert.deepEqual(layerDirs(d), before, "no layer was duplicated");
      assert.deepEqual(before.map((dir) => fs.lstatSync(dir).uid), ownerBefore);
      assert.equal(fs.lstatSync(path.join(containerDir, "upper")).uid, base, "the writable layer is the mapped root's");
    } finally {
      await d.wharf(["rm", "-f", "layers"]);
    }
  });

  test("a named volume made for a mapped container is its root's; binds keep the host's owners", async () => {
    const bindDir = path.join(work, "bind");
    fs.mkdirSync(bindDir, { mode: 0o755 });
    fs.writeFileSync(path.join(bindDir, "hostfile"), "from the host\n");
    try {
      const out = succeeded(await d.wharf(["run", "--rm", "--userns=auto", "-v", "uvol:/data", "-v", `${bindDir}:/bind`, "busybox", "sh", "-c",
        "touch /data/made && ls -ln /data/made; cat /bind/hostfile; ls -ln /bind/hostfile; touch /bind/new 2>/dev/null && echo bind-write-ok || echo bind-write-denied; cat /proc/self/uid_map"]));
      const base = Number(out.trim().split("\n").pop()?.trim().split(/\s+/)[1]);
      assert.match(out, /^\S+\s+\d+\s+0\s+0\s.*\/data\/made$/m, "inside, the volume's file is root's");
      assert.match(out, /from the host/);
      assert.match(out, /^\S+\s+\d+\s+65534\s+65534\s.*\/bind\/hostfile$/m, "a host root's file shows as nobody");
      assert.match(out, /bind-write-denied/, "the host's root-owned dir is not the container root's");
      const volumePath = succeeded(await d.wharf(["volume", "inspect", "-f", "{{.Mountpoint}}", "uvol"])).trim();
      assert.equal(fs.statSync(volumePath).uid, base, "the volume's data dir belongs to the mapped root on the host");
      assert.equal(fs.statSync(path.join(volumePath, "made")).uid, base);
    } finally {
      await d.wharf(["volume", "rm", "-f", "uvol"]);
    }
  });

  test("networking, /etc files, logs, cp, stop and restart work in a mapped container", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "svc", "--userns=auto", "busybox", "sh", "-c", "echo started; exec sleep 300"]));
    try {
      const base = idMapOf(await pidOf(d, "svc")).outside;
      const ip = succeeded(await d.wharf(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "svc"])).trim();
      assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.match(succeeded(await d.wharf(["exec", "svc", "ip", "-4", "addr", "show", "eth0"])), new RegExp(`inet ${ip.replace(/\./g, "\\.")}/`));
      assert.equal((await d.wharf(["exec", "svc", "ping", "-c", "1", "-W", "5", d.gateway])).code, 0, "the gateway answers");
      const id = succeeded(await d.wharf(["inspect", "-f", "{{.Id}}", "svc"])).trim();
      assert.equal(succeeded(await d.wharf(["exec", "svc", "hostname"])).trim(), id.slice(0, 12));
      assert.match(succeeded(await d.wharf(["exec", "svc", "cat", "/etc/hosts"])), new RegExp(ip.replace(/\./g, "\\.")));
      assert.equal((await d.wharf(["exec", "svc", "sh", "-c", "echo '10.9.9.9 extra' >> /etc/hosts"])).code, 0, "the container's root may edit its /etc/hosts");
      assert.match(succeeded(await d.wharf(["logs", "svc"])), /started/);
      // cp both ways: what comes in is the container root's.
      const local = path.join(work, "in.txt");
      fs.writeFileSync(local, "copied in\n");
      succeeded(await d.wharf(["cp", local, "svc:/tmp/"]));
      assert.match(succeeded(await d.wharf(["exec", "svc", "ls", "-ln", "/tmp/in.txt"])), /^\S+\s+\d+\s+0\s+0\s/);
      // cp -a keeps the tar's owners as the container sees them.
      const owned = path.join(work, "owned.txt");
      fs.writeFileSync(owned, "owned\n");
      fs.chownSync(owned, 1234, 1234);
      succeeded(await d.wharf(["cp", "-a", owned, "svc:/tmp/"]));
      assert.match(succeeded(await d.wharf(["exec", "svc", "ls", "-ln", "/tmp/owned.txt"])), /^\S+\s+\d+\s+1234\s+1234\s/);
      const ownedId = succeeded(await d.wharf(["inspect", "-f", "{{.Id}}", "svc"])).trim();
      assert.equal(fs.statSync(path.join(d.dataRoot, "snapshots", "containers", ownedId, "upper", "tmp", "owned.txt")).uid, base + 1234);
      succeeded(await d.wharf(["exec", "svc", "sh", "-c", "echo made inside > /tmp/out.txt && chown 1000:1000 /tmp/out.txt"]));
      const back = path.join(work, "out.txt");
      succeeded(await d.wharf(["cp", "svc:/tmp/out.txt", back]));
      assert.equal(fs.readFileSync(back, "utf8"), "made inside\n");
      // The tar carries the ids the container sees (docker cp -a would keep them).
      // (tar headers and this file are ASCII, so the text form of stdout is the tar's bytes)
      const tarPath = path.join(work, "out.tar");
      fs.writeFileSync(tarPath, succeeded(await d.wharf(["cp", "svc:/tmp/out.txt", "-"])), "latin1");
      assert.match(succeeded(await run("tar", ["-tvf", tarPath, "--numeric-owner"])), /1000\/1000 .*out\.txt/);
      succeeded(await d.wharf(["stop", "-t", "1", "svc"]));
      succeeded(await d.wharf(["start", "svc"]));
      assert.equal(idMapOf(await pidOf(d, "svc")).outside, base, "a restarted container keeps its range");
      succeeded(await d.wharf(["restart", "-t", "1", "svc"]));
      assert.equal(idMapOf(await pidOf(d, "svc")).outside, base);
      assert.match(succeeded(await d.wharf(["exec", "svc", "cat", "/tmp/in.txt"])), /copied in/);
    } finally {
      await d.wharf(["rm", "-f", "svc"]);
    }
  });

  test("--network container:X works across mappings (host ids, another range)", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "net-host-ids", "busybox", "sleep", "300"]));
    succeeded(await d.wharf(["run", "-d", "--name", "net-mapped", "--userns=auto", "busybox", "sleep", "300"]));
    try {
      for (const target of ["net-host-ids", "net-mapped"]) {
        const ip = succeeded(await d.wharf(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", target])).trim();
        const out = succeeded(await d.wharf(["run", "--rm", "--userns=auto", "--network", `container:${target}`, "busybox", "sh", "-c", "id -u; ip -4 addr show eth0; ls /sys/class/net"]));
        assert.equal(out.split("\n")[0], "0");
        assert.match(out, new RegExp(`inet ${ip.replace(/\./g, "\\.")}/`), `joined ${target}'s network`);
      }
    } finally {
      await d.wharf(["rm", "-f", "net-host-ids", "net-mapped"]);
    }
  });

  test("commit and export carry the ids the container sees, not the host's", async () => {
    succeeded(await d.wharf(["run", "--name", "committer", "--userns=auto", "busybox", "sh", "-c", "echo data > /made-inside && chown 1000:1000 /made-inside"]));
    try {
      succeeded(await d.wharf(["commit", "committer", "userns-committed:latest"]));
      const seen = succeeded(await d.wharf(["run", "--rm", "--userns=host", "userns-committed:latest", "ls", "-ln", "/made-inside"]));
      assert.match(seen, /^\S+\s+\d+\s+1000\s+1000\s.*\/made-inside$/m, "the image has the ids the container gave its file");
      const tarPath = path.join(work, "export.tar");
      succeeded(await d.wharf(["export", "-o", tarPath, "committer"]));
      const listing = succeeded(await run("tar", ["-tvf", tarPath, "--numeric-owner", "made-inside", "bin/busybox"]));
      assert.match(listing, /1000\/1000 .*made-inside/);
      assert.match(listing, /0\/0 .*bin\/busybox/);
    } finally {
      await d.wharf(["rm", "-f", "committer"]);
      await d.wharf(["rmi", "-f", "userns-committed:latest"]);
    }
  });

  test("Docker's errors: an unknown mode, and auto with --privileged, --network host or --pid host; nothing is created", async () => {
    const before = succeeded(await d.wharf(["ps", "-aq"]));
    const create = (hostConfig: Record<string, unknown>) => d.api("POST", "/containers/create", { Image: "busybox", Cmd: ["true"], HostConfig: hostConfig });
    const bogus = await create({ UsernsMode: "bogus" });
    assert.equal(bogus.status, 400);
    assert.match(bogus.json<{ message: string }>().message, /invalid USER mode: bogus/);
    const privileged = await create({ UsernsMode: "auto", Privileged: true });
    assert.equal(privileged.status, 400);
    assert.match(privileged.json<{ message: string }>().message, /^privileged mode is incompatible with user namespaces/);
    const hostNet = await create({ UsernsMode: "auto", NetworkMode: "host" });
    assert.equal(hostNet.status, 400);
    assert.equal(hostNet.json<{ message: string }>().message, "cannot share the host's network namespace when user namespaces are enabled");
    const hostPid = await create({ UsernsMode: "auto", PidMode: "host" });
    assert.equal(hostPid.status, 400);
    assert.equal(hostPid.json<{ message: string }>().message, "cannot share the host PID namespace when user namespaces are enabled");
    const cli = await d.wharf(["run", "--rm", "--userns=nope", "busybox", "true"]);
    assert.equal(cli.code, 125);
    assert.match(cli.stderr, /invalid USER mode: nope/);
    // The docker CLI refuses anything but host before sending (its own check); host goes through.
    const dockerAuto = await d.docker(["run", "--rm", "--pull", "never", "--userns=auto", "busybox", "true"]);
    assert.equal(dockerAuto.code, 125);
    assert.match(dockerAuto.stderr, /--userns: invalid USER mode/);
    assert.equal(succeeded(await d.docker(["run", "--rm", "--pull", "never", "--userns=host", "busybox", "cat", "/proc/self/uid_map"])).trim().split(/\s+/).join(" "), "0 0 4294967295");
    assert.equal(succeeded(await d.wharf(["ps", "-aq"])), before);
  });

  test("a data root the mapped root cannot reach is a clear error; nothing is created, no range kept", async () => {
    const base = path.dirname(d.dataRoot);
    const before = succeeded(await d.wharf(["ps", "-aq"]));
    fs.chmodSync(base, 0o700);
    try {
      const refused = await d.wharf(["create", "--userns=auto", "busybox", "true"]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, new RegExp(`${base} \\(mode 700\\) is not searchable by others`));
      assert.equal(succeeded(await d.wharf(["ps", "-aq"])), before);
    } finally {
      fs.chmodSync(base, 0o711);
    }
    // The lowest range is free again: the refused create gave its range back.
    succeeded(await d.wharf(["run", "-d", "--name", "after-refusal", "--userns=auto", "busybox", "sleep", "300"]));
    try {
      assert.equal(idMapOf(await pidOf(d, "after-refusal")).outside, POOL_START);
    } finally {
      await d.wharf(["rm", "-f", "after-refusal"]);
    }
  });

  test("a daemon crash neither frees a running container's range nor hands it out twice", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "survivor", "--userns=auto", "busybox", "sleep", "300"]));
    try {
      const pid = await pidOf(d, "survivor");
      const before = idMapOf(pid);
      await d.crashAndRestart();
      assert.equal(await pidOf(d, "survivor"), pid, "the container kept running");
      succeeded(await d.wharf(["run", "-d", "--name", "newcomer", "--userns=auto", "busybox", "sleep", "300"]));
      const after = idMapOf(await pidOf(d, "newcomer"));
      assert.ok(after.outside + after.size <= before.outside || before.outside + before.size <= after.outside, `ranges overlap after the crash: ${JSON.stringify({ before, after })}`);
      assert.equal(succeeded(await d.wharf(["exec", "survivor", "id", "-u"])).trim(), "0");
    } finally {
      await d.wharf(["rm", "-f", "survivor", "newcomer"]);
    }
  });
});

describe("a daemon with --userns-default=auto, a one-range pool and layer copies", () => {
  let d: TestDaemon;
  const poolStart = POOL_START + 6 * RANGE;
  useDaemon((daemon) => (d = daemon), ["--userns-default", "auto", "--userns-pool", `${poolStart}:${RANGE}`, "--userns-layers", "copy"]);
  before(() => letMappedRootsIn(d));

  test("containers that ask for nothing are mapped (docker CLI too); --userns=host opts out; --privileged needs it", async () => {
    const viaDocker = succeeded(await d.docker(["run", "--rm", "--pull", "never", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map"]));
    assert.equal(viaDocker.split("\n")[0], "0");
    assert.equal(viaDocker.split("\n")[1].trim().split(/\s+/).join(" "), `0 ${poolStart} ${RANGE}`);
    assert.equal(succeeded(await d.docker(["run", "--rm", "--pull", "never", "--userns=host", "busybox", "cat", "/proc/self/uid_map"])).trim().split(/\s+/).join(" "), "0 0 4294967295");
    const options = JSON.parse(succeeded(await d.docker(["info", "--format", "{{json .SecurityOptions}}"]))) as string[];
    assert.ok(options.includes("name=userns"), options.join(","));
    const privileged = await d.docker(["run", "--rm", "--pull", "never", "--privileged", "busybox", "true"]);
    assert.equal(privileged.code, 125);
    assert.match(privileged.stderr, /privileged mode is incompatible with user namespaces/);
    assert.equal((await d.docker(["run", "--rm", "--pull", "never", "--privileged", "--userns=host", "busybox", "true"])).code, 0);
  });

  test("layer copies (the fallback): owners shifted in the copy, the shared layer untouched", async () => {
    const layersBefore = layerDirs(d);
    succeeded(await d.wharf(["run", "-d", "--name", "copied", "busybox", "sleep", "300"]));
    try {
      const id = succeeded(await d.wharf(["inspect", "-f", "{{.Id}}", "copied"])).trim();
      assert.match(succeeded(await d.wharf(["exec", "copied", "ls", "-ln", "/bin/busybox"])), /^\S+\s+\d+\s+0\s+0\s/);
      const copy = path.join(d.dataRoot, "snapshots", "containers", id, "c", "0");
      assert.equal(fs.lstatSync(path.join(copy, "bin", "busybox")).uid, poolStart, "the copy is the mapped root's");
      assert.equal(mountsUnder(path.join(d.dataRoot, "snapshots", "containers", id)).filter((m) => /idmapped/.test(m.options)).length, 0);
      assert.deepEqual(layerDirs(d), layersBefore);
      for (const dir of layersBefore) assert.equal(fs.lstatSync(path.join(dir, "bin", "busybox"), { throwIfNoEntry: false })?.uid ?? 0, 0);
    } finally {
      await d.wharf(["rm", "-f", "copied"]);
    }
  });

  test("a build's RUN runs mapped, and its layer carries the ids the RUN saw, not the host's", async () => {
    const context = fs.mkdtempSync(path.join(path.dirname(d.dataRoot), "ctx-"));
    try {
      fs.writeFileSync(path.join(context, "Dockerfile"), "FROM busybox\nRUN cat /proc/self/uid_map && touch /by-root /by-1234 && chown 1234:1234 /by-1234\n");
      const built = await d.wharf(["build", "--progress", "plain", "-t", "mapped-build", context]);
      assert.equal(built.code, 0, built.stderr);
      assert.match(built.stdout + built.stderr, new RegExp(`0\\s+${poolStart}\\s+${RANGE}`), "the RUN was mapped");
      const owners = succeeded(await d.wharf(["run", "--rm", "--userns=host", "mapped-build", "stat", "-c", "%u:%g", "/by-root", "/by-1234"]));
      assert.deepEqual(owners.trim().split("\n"), ["0:0", "1234:1234"]);
    } finally {
      await d.wharf(["rmi", "-f", "mapped-build"]);
      fs.rmSync(context, { recursive: true, force: true });
    }
  });

  test("an exhausted pool is a clear error and creates nothing; removal frees the range", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "holder", "busybox", "sleep", "300"]));
    try {
      const before = succeeded(await d.wharf(["ps", "-aq"]));
      const refused = await d.wharf(["run", "--rm", "--name", "second", "busybox", "true"]);
      assert.equal(refused.code, 125);
      assert.match(refused.stderr, /no free user namespace range: all 1 ranges of 65536 ids in the pool \(--userns-pool \d+:65536\) are in use/);
      assert.equal(succeeded(await d.wharf(["ps", "-aq"])), before);
      // The host's ids need no range.
      succeeded(await d.wharf(["run", "--rm", "--userns=host", "busybox", "true"]));
    } finally {
      await d.wharf(["rm", "-f", "holder"]);
    }
    succeeded(await d.wharf(["run", "--rm", "busybox", "true"]));
  });
});

describe("a daemon with --userns-remap=default", () => {
  const REMAP_USER = "wharfremap";
  // The daemon creates the user and its ranges when missing; the test removes what it made.
  const existedBefore = userExists(REMAP_USER);
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon), ["--userns-remap", "default", "--userns-pool", `${POOL_START + 7 * RANGE}:${RANGE}`]);
  before(() => letMappedRootsIn(d));
  after(() => {
    if (existedBefore) return;
    spawnSync("userdel", [REMAP_USER]);
    for (const file of ["/etc/subuid", "/etc/subgid"]) {
      const text = fs.readFileSync(file, "utf8");
      const kept = text.split("\n").filter((l) => !l.startsWith(`${REMAP_USER}:`)).join("\n");
      if (kept !== text) fs.writeFileSync(file, kept);
    }
  });

  test("every container shares the remap user's range; --userns=host opts out; auto still takes a pool range", async () => {
    assert.ok(userExists(REMAP_USER), "the daemon created wharfremap");
    const line = fs.readFileSync("/etc/subuid", "utf8").split("\n").find((l) => l.startsWith(`${REMAP_USER}:`));
    assert.ok(line, "wharfremap has subordinate uids");
    const start = Number(line.split(":")[1]);
    const a = succeeded(await d.docker(["run", "--rm", "--pull", "never", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map"]));
    assert.equal(a.split("\n")[0], "0");
    assert.equal(a.split("\n")[1].trim().split(/\s+/)[1], String(start));
    succeeded(await d.wharf(["run", "-d", "--name", "r1", "busybox", "sleep", "300"]));
    succeeded(await d.wharf(["run", "-d", "--name", "r2", "busybox", "sleep", "300"]));
    try {
      assert.equal(idMapOf(await pidOf(d, "r1")).outside, start);
      assert.equal(idMapOf(await pidOf(d, "r2")).outside, start, "remapped containers share one mapping, as in Docker");
      assert.equal(succeeded(await d.wharf(["inspect", "-f", "{{.HostConfig.UsernsMode}}", "r1"])).trim(), "");
    } finally {
      await d.wharf(["rm", "-f", "r1", "r2"]);
    }
    assert.equal(succeeded(await d.docker(["run", "--rm", "--pull", "never", "--userns=host", "busybox", "cat", "/proc/self/uid_map"])).trim().split(/\s+/).join(" "), "0 0 4294967295");
    assert.equal(succeeded(await d.wharf(["run", "--rm", "--userns=auto", "busybox", "cat", "/proc/self/uid_map"])).trim().split(/\s+/)[1], String(POOL_START + 7 * RANGE));
  });
});
