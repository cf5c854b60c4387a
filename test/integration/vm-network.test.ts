import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { VM_TIMEOUT, vmSkip } from "../helpers/vm";
import { ensureBusybox, startDaemon, succeeded, type TestDaemon, useDaemon } from "../helpers/daemon";
import { fetchLocal, freePort } from "../helpers/net";

/**
 * `--runtime vm` on the container's networks (tap + tc redirect to the CNI veth) and with
 * volumes, binds and tmpfs (one virtiofs share carrying the mounts), through a real private
 * wharfd, conmon, virtiofsd and qemu (TCG here), next to runc containers.
 */

const skip = vmSkip;
const HTTPD = (text: string): string[] => ["sh", "-c", `mkdir -p /www && echo ${text} > /www/index.html && httpd -p 80 -h /www && echo up && exec sleep 600`];

/** Waits (bounded) until the container's log holds `word`: the guest has booted and its process got there. */
async function waitForLog(d: TestDaemon, name: string, word: string): Promise<void> {
  let logs = "";
  for (let i = 0; i < 600 && !logs.includes(word); i++) {
    logs = (await d.wharf(["logs", name])).stdout;
    if (!logs.includes(word)) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(logs.includes(word), `${name} logged ${JSON.stringify(word)}: ${logs}`);
}

/** Processes of the VM machinery (qemu, virtiofsd, the shim) whose command line mentions `needle`. */
function vmProcessesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmdline.includes(needle) && /qemu-system|virtiofsd|wharf-vm-shim/.test(cmdline)) found.push(`${pid} ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function inNetns(pid: number, args: string[]): string {
  const r = spawnSync("nsenter", [`--net=/proc/${pid}/ns/net`, "--", ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("vm runtime: networks", { skip, concurrency: false }, () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  it("a published port reaches an httpd in the guest, whose NIC has the container's address and MAC", async () => {
    const port = await freePort();
    succeeded(await d.wharf(["run", "-d", "--name", "vm-web", "--runtime", "vm", "-p", `127.0.0.1:${port}:80`, "busybox", ...HTTPD("hello-from-the-vm")], { timeoutMs: VM_TIMEOUT }));
    try {
      await waitForLog(d, "vm-web", "up");
      assert.equal(await fetchLocal(port), "hello-from-the-vm\n");
      const ep = JSON.parse(succeeded(await d.wharf(["inspect", "--format", "{{json .NetworkSettings}}", "vm-web"]))) as { IPAddress: string; MacAddress: string; Gateway: string };
      assert.ok(ep.IPAddress.startsWith(d.subnet.split(".").slice(0, 3).join(".")), `on the default bridge: ${ep.IPAddress}`);
      // The namespace behind the guest: its tap and the veth, joined by tc both ways.
      const pid = Number(succeeded(await d.wharf(["inspect", "--format", "{{.State.Pid}}", "vm-web"])).trim());
      const links = inNetns(pid, ["ip", "-o", "link", "show"]);
      assert.match(links, /tap0/);
      assert.match(links, new RegExp(ep.MacAddress, "i"), "the veth keeps the container's MAC");
      assert.match(inNetns(pid, ["tc", "filter", "show", "dev", "eth0", "parent", "ffff:"]), /mirred \(Egress Redirect to device tap0\)/);
      assert.match(inNetns(pid, ["tc", "filter", "show", "dev", "tap0", "parent", "ffff:"]), /mirred \(Egress Redirect to device eth0\)/);
    } finally {
      succeeded(await d.wharf(["rm", "-f", "vm-web"], { timeoutMs: VM_TIMEOUT }));
    }
  });

  it("the guest sees its own address, MAC, route, /etc/hosts and hostname; --network none has no NIC", async () => {
    const out = succeeded(await d.wharf(["run", "--rm", "--name", "vm-self", "--hostname", "vmhost", "--runtime", "vm", "busybox", "sh", "-c", "ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/address; grep vmhost /etc/hosts; cat /etc/hostname"], { timeoutMs: VM_TIMEOUT }));
    const prefix = d.subnet.split(".").slice(0, 3).join(".");
    assert.match(out, new RegExp(`inet ${prefix.replace(/\./g, "\\.")}\\.\\d+/24`));
    assert.match(out, new RegExp(`default via ${d.gateway.replace(/\./g, "\\.")} dev eth0`));
    assert.match(out, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/m);
    assert.match(out, new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.\\d+\\s+vmhost$`, "m"), "the engine's /etc/hosts, with the address");
    assert.match(out, /^vmhost$/m, "the engine's /etc/hostname");
    const none = succeeded(await d.wharf(["run", "--rm", "--runtime", "vm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"], { timeoutMs: VM_TIMEOUT }));
    assert.equal(none.trim(), "lo", "no NIC but loopback");
  });

  it("--network container: is refused for a VM before anything exists", async () => {
    const r = await d.wharf(["create", "--name", "vm-joiner", "--runtime", "vm", "--network", "container:whatever", "busybox", "true"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: the vm runtime does not support --network container:/);
    assert.equal((await d.wharf(["inspect", "vm-joiner"])).code, 1, "no container was created");
  });

  it("a runc container and a VM container on a user network reach each other by name", async () => {
    succeeded(await d.wharf(["network", "create", "vm-usernet"]));
    try {
      succeeded(await d.wharf(["run", "-d", "--name", "vm-named", "--network", "vm-usernet", "--runtime", "vm", "busybox", ...HTTPD("answer-from-vm")], { timeoutMs: VM_TIMEOUT }));
      succeeded(await d.wharf(["run", "-d", "--name", "runc-named", "--network", "vm-usernet", "busybox", ...HTTPD("answer-from-runc")]));
      await waitForLog(d, "vm-named", "up");
      await waitForLog(d, "runc-named", "up");
      const fromRunc = succeeded(await d.wharf(["run", "--rm", "--network", "vm-usernet", "busybox", "timeout", "20", "wget", "-qO-", "http://vm-named/"], { timeoutMs: VM_TIMEOUT }));
      assert.equal(fromRunc, "answer-from-vm\n");
      const fromVm = succeeded(await d.wharf(["run", "--rm", "--network", "vm-usernet", "--runtime", "vm", "busybox", "timeout", "20", "wget", "-qO-", "http://runc-named/"], { timeoutMs: VM_TIMEOUT }));
      assert.equal(fromVm, "answer-from-runc\n");
    } finally {
      await d.wharf(["rm", "-f", "vm-named", "runc-named"], { timeoutMs: VM_TIMEOUT });
      succeeded(await d.wharf(["network", "rm", "vm-usernet"]));
    }
  });

  it("leaves no VM process, netns pin or tap behind after rm", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "vm-netleak", "--runtime", "vm", "-p", "127.0.0.1::80", "busybox", "sleep", "600"], { timeoutMs: VM_TIMEOUT }));
    const id = succeeded(await d.wharf(["inspect", "--format", "{{.Id}}", "vm-netleak"])).trim();
    const pid = Number(succeeded(await d.wharf(["inspect", "--format", "{{.State.Pid}}", "vm-netleak"])).trim());
    const netnsInode = fs.statSync(`/proc/${pid}/ns/net`).ino;
    assert.match(inNetns(pid, ["ip", "-o", "link", "show", "tap0"]), /tap0/);
    succeeded(await d.wharf(["rm", "-f", "vm-netleak"], { timeoutMs: VM_TIMEOUT }));
    assert.deepEqual(vmProcessesMentioning(id), []);
    assert.equal(fs.existsSync(path.join(d.execRoot, "netns", id)), false, "the netns pin is gone");
    // No process is left in the namespace that held the tap and its qdiscs: it is gone with them.
    const holders = fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n) && (() => {
      try {
        return fs.statSync(`/proc/${n}/ns/net`).ino === netnsInode;
      } catch {
        return false;
      }
    })());
    assert.deepEqual(holders, []);
    assert.ok(!/\btap0\b/.test(spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout), "no tap in the host's namespace");
  });
});

describe("vm runtime: volumes and binds", { skip, concurrency: false }, () => {
  let d: TestDaemon;
  let hostDir: string;
  before(async () => {
    d = await startDaemon();
    await ensureBusybox(d);
    hostDir = fs.mkdtempSync("/tmp/wharf-vm-bind-");
    fs.writeFileSync(path.join(hostDir, "from-host"), "written-on-the-host\n");
  });
  after(async () => {
    await d?.stop();
    if (hostDir) fs.rmSync(hostDir, { recursive: true, force: true });
  });

  it("a named volume and a bind mount carry files between the guest, the host and a runc container", async () => {
    try {
      const out = succeeded(
        await d.wharf(["run", "--rm", "--runtime", "vm", "-v", "vm-vol:/vol", "-v", `${hostDir}:/bind`, "busybox", "sh", "-c", "cat /bind/from-host; echo from-guest > /bind/from-guest; echo in-volume > /vol/note"], { timeoutMs: VM_TIMEOUT }),
      );
      assert.equal(out, "written-on-the-host\n");
      assert.equal(fs.readFileSync(path.join(hostDir, "from-guest"), "utf8"), "from-guest\n");
      assert.equal(fs.statSync(path.join(hostDir, "from-guest")).uid, 0, "guest root writes as root");
      assert.equal(succeeded(await d.wharf(["run", "--rm", "-v", "vm-vol:/vol", "busybox", "cat", "/vol/note"])), "in-volume\n", "a runc container reads the volume");
      // Another user in the guest writes files the host sees with that user's ids.
      fs.chmodSync(hostDir, 0o777);
      succeeded(await d.wharf(["run", "--rm", "--runtime", "vm", "-u", "1000:1001", "-v", `${hostDir}:/bind`, "busybox", "sh", "-c", "echo mine > /bind/by-user"], { timeoutMs: VM_TIMEOUT }));
      const st = fs.statSync(path.join(hostDir, "by-user"));
      assert.deepEqual([st.uid, st.gid], [1000, 1001]);
    } finally {
      fs.chmodSync(hostDir, 0o700);
      await d.wharf(["volume", "rm", "vm-vol"]);
    }
  });

  it(":ro and readonly mounts refuse writes; --tmpfs is a fresh writable directory", async () => {
    try {
      const r = await d.wharf(
        ["run", "--rm", "--runtime", "vm", "-v", `${hostDir}:/ro:ro`, "--mount", "type=volume,src=vm-rovol,dst=/rovol,readonly", "--tmpfs", "/scratch", "busybox", "sh", "-c", "cat /ro/from-host; echo t > /scratch/t && cat /scratch/t; echo x > /ro/x; echo y > /rovol/y; echo done"],
        { timeoutMs: VM_TIMEOUT },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "written-on-the-host\nt\ndone\n");
      assert.match(r.stderr, /can't create \/ro\/x: Read-only file system/);
      assert.match(r.stderr, /can't create \/rovol\/y: Read-only file system/);
      assert.equal(fs.existsSync(path.join(hostDir, "x")), false);
    } finally {
      await d.wharf(["volume", "rm", "vm-rovol"]);
    }
  });

  it("the mounts live only in virtiofsd's namespace: none is left on the host after rm", async () => {
    succeeded(await d.wharf(["run", "-d", "--name", "vm-mounts", "--runtime", "vm", "-v", `${hostDir}:/bind`, "--tmpfs", "/scratch", "busybox", "sleep", "600"], { timeoutMs: VM_TIMEOUT }));
    const id = succeeded(await d.wharf(["inspect", "--format", "{{.Id}}", "vm-mounts"])).trim();
    const hostMounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
    assert.ok(!hostMounts.split("\n").some((l) => l.includes(id) && l.includes("/bind")), "the bind is not in the host's mount table");
    succeeded(await d.wharf(["rm", "-f", "vm-mounts"], { timeoutMs: VM_TIMEOUT }));
    assert.deepEqual(vmProcessesMentioning(id), []);
    assert.ok(!fs.readFileSync("/proc/self/mountinfo", "utf8").includes(id), "no mount of the container is left");
  });
});
