import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ROOT, type TestDaemon, useDaemon } from "../helpers/daemon";

/**
 * 200 mixed lifecycle cycles (run --rm, run -d + exec + stop + rm, restart, create + start -a,
 * kill, rm -f) from 4 concurrent clients, then nothing of the removed containers may be left:
 * processes, mounts, cgroups, veths, files or sockets under the daemon's roots.
 */
const CYCLES = 200;
const WORKERS = 4;
const LIMIT_MS = 6 * 60_000;

function processesMentioning(fragments: string[]): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (fragments.some((f) => cmdline.includes(f))) found.push(`${pid}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function walk(dir: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    out.push(full);
    if (e.isDirectory()) walk(full, out);
  }
  return out;
}

describe("soak: 200 lifecycle cycles leave nothing behind", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("mixed run/exec/stop/rm/restart cycles, then no leftovers", { timeout: LIMIT_MS }, async (t) => {
    const started = Date.now();
    // Every container id the daemon creates, from a live event stream.
    const events = spawn(path.join(ROOT, "bin", "wharf"), ["-H", d.host, "events", "--filter", "event=create", "--format", "{{.Actor.ID}}"], { stdio: ["ignore", "pipe", "inherit"] });
    let eventText = "";
    events.stdout.on("data", (b: Buffer) => (eventText += b.toString()));
    await new Promise((r) => setTimeout(r, 300));

    const ok = async (args: string[], expectCode = 0): Promise<string> => {
      const res = await d.wharf(args, { timeoutMs: 60000 });
      assert.equal(res.code, expectCode, `wharf ${args.join(" ")}: ${res.stderr}`);
      return res.stdout;
    };
    const cycle = async (n: number): Promise<void> => {
      const name = `soak${n}`;
      switch (n % 5) {
        case 0:
          assert.equal(await ok(["run", "--rm", "busybox", "echo", `hi ${n}`]), `hi ${n}\n`);
          break;
        case 1:
          await ok(["run", "-d", "--name", name, "busybox", "sleep", "300"]);
          assert.equal(await ok(["exec", name, "echo", "in"]), "in\n");
          await ok(["stop", "-t", "1", name]);
          await ok(["rm", name]);
          break;
        case 2:
          await ok(["run", "-d", "--name", name, "busybox", "sleep", "300"]);
          await ok(["restart", "-t", "0", name]);
          await ok(["exec", name, "true"]);
          await ok(["rm", "-f", name]);
          break;
        case 3:
          await ok(["create", "--name", name, "busybox", "sh", "-c", "echo out; exit 3"]);
          assert.equal(await ok(["start", "-a", name], 3), "out\n");
          await ok(["rm", name]);
          break;
        default:
          await ok(["run", "-d", "--name", name, "-p", "127.0.0.1::80", "busybox", "sleep", "300"]);
          await ok(["kill", name]);
          await ok(["wait", name]);
          await ok(["rm", "-v", name]);
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < CYCLES) await cycle(next++);
      }),
    );
    const elapsed = Date.now() - started;
    t.diagnostic(`soak: ${CYCLES} cycles in ${(elapsed / 1000).toFixed(1)} s`);
    assert.ok(elapsed < LIMIT_MS);

    await new Promise((r) => setTimeout(r, 500));
    events.kill();
    const ids = [...new Set(eventText.split("\n").filter((l) => /^[0-9a-f]{64}$/.test(l)))];
    assert.equal(ids.length, CYCLES, "one container per cycle was created");
    assert.deepEqual((await d.api("GET", "/containers/json?all=1")).json<unknown[]>(), []);

    assert.deepEqual(processesMentioning(ids), [], "no conmon, runc or exec process of a removed container");
    const base = path.dirname(d.dataRoot);
    const mounts = fs
      .readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(base) || ids.some((id) => l.includes(id)));
    assert.deepEqual(mounts, [], "no mounts");
    const cgroups: string[] = [];
    for (const controller of fs.readdirSync("/sys/fs/cgroup")) {
      const dir = `/sys/fs/cgroup/${controller}/wharf-test`;
      if (!fs.existsSync(dir)) continue;
      for (const e of fs.readdirSync(dir)) if (ids.some((id) => e.includes(id))) cgroups.push(`${dir}/${e}`);
    }
    assert.deepEqual(cgroups, [], "no cgroups");
    const files = [...walk(d.dataRoot), ...walk(d.execRoot)].filter((f) => ids.some((id) => f.includes(id)));
    assert.deepEqual(files, [], "no bundles, exit files, logs, attachments or layers");
    const sockets = walk(d.execRoot).filter((f) => fs.lstatSync(f, { throwIfNoEntry: false })?.isSocket());
    assert.deepEqual(sockets, [], "no attach sockets");
    const veths = spawnSync("ip", ["-o", "link", "show", "master", d.bridge], { encoding: "utf8" }).stdout.trim();
    assert.equal(veths, "", "no veths on the bridge");
    const tmp = walk(path.join(d.dataRoot, "tmp"));
    assert.deepEqual(tmp, [], "no temp files");
  });
});
