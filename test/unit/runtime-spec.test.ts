import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { CAPABILITY_NAMES, parseCapMask, parseLimits, unsupportedSyscallAbis, type HostFacts } from "../../src/runtime/host-facts";
import type { RuntimeLogger } from "../../src/runtime/logger";
import { DEFAULT_CAPABILITIES, INIT_PATH_IN_CONTAINER, buildOciSpec, normalizeCapability, specToJson } from "../../src/runtime/spec";
import type { SpecInput } from "../../src/runtime/types";
import type { OciSeccomp } from "../../src/runtime/oci-spec";

const PROFILE = JSON.stringify({
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 38,
  archMap: [
    { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
    { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
  ],
  syscalls: [
    { names: ["read", "write"], action: "SCMP_ACT_ALLOW", args: [], includes: {}, excludes: {} },
    { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 8, valueTwo: 0, op: "SCMP_CMP_EQ" }] },
    { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64", "x32"] } },
    { names: ["s390_runtime_instr"], action: "SCMP_ACT_ALLOW", includes: { arches: ["s390x"] } },
    { names: ["bpf"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
    { names: ["bpf"], action: "SCMP_ACT_ERRNO", errnoRet: 1, excludes: { caps: ["CAP_SYS_ADMIN"] } },
    { names: ["newsyscall"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "7.1" } },
    { names: ["oldsyscall"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "4.8" } },
    { names: ["notonamd64"], action: "SCMP_ACT_ALLOW", excludes: { arches: ["amd64"] } },
  ],
});

/** A host like these machines: no CAP_SYS_RESOURCE, nofile hard 20000, no /proc/kcore, cgroup v1. */
function host(over: Partial<HostFacts> = {}): HostFacts {
  return {
    boundingCaps: new Set(CAPABILITY_NAMES.filter((c) => c !== "CAP_SYS_RESOURCE")),
    hardLimits: new Map([
      ["nofile", 20000],
      ["nproc", 96364],
      ["core", Infinity],
      ["memlock", 8388608],
    ]),
    hasKcore: false,
    cgroupVersion: 1,
    swapAccounting: true,
    kernel: [6, 1],
    arch: "amd64",
    hostDevices: () => [{ type: "c", path: "/dev/kvm", major: 10, minor: 232, fileMode: 0o660, uid: 0, gid: 0 }],
    defaultSeccompProfile: () => PROFILE,
    ...over,
  };
}

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    containerId: "c1",
    rootfsPath: "/var/lib/wharf/snapshots/c1/merged",
    readonlyRootfs: false,
    args: ["sh", "-c", "echo hi"],
    env: ["PATH=/usr/bin:/bin"],
    cwd: "/work",
    user: { uid: 0, gid: 0, additionalGids: [] },
    terminal: false,
    hostname: "c1host",
    etcFiles: { hostname: "/data/c1/hostname", hosts: "/data/c1/hosts", resolvConf: "/data/c1/resolv.conf" },
    extraMounts: [],
    privileged: false,
    capAdd: [],
    capDrop: [],
    noNewPrivileges: false,
    seccomp: "default",
    network: "none",
    resources: {},
    ulimits: [],
    cgroupsPath: "/wharf/c1",
    ...over,
  };
}

function recorder(): RuntimeLogger & { warnings: string[] } {
  const warnings: string[] = [];
  const noop = (): void => undefined;
  return { warnings, debug: noop, info: noop, error: noop, warn: (_f, msg) => warnings.push(msg) };
}

describe("buildOciSpec", () => {
  it("gives Docker's default capabilities to all sets except inheritable/ambient", () => {
    const s = buildOciSpec(input(), { host: host() });
    assert.deepEqual(s.process.capabilities.bounding, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(s.process.capabilities.effective, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(s.process.capabilities.permitted, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(s.process.capabilities.inheritable, []);
    assert.deepEqual(s.process.capabilities.ambient, []);
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
  });

  it("applies --cap-add/--cap-drop with or without CAP_, any case", () => {
    const s = buildOciSpec(input({ capAdd: ["net_admin", "CAP_SYS_PTRACE"], capDrop: ["MKNOD", "cap_net_raw"] }), { host: host() });
    const caps = s.process.capabilities.bounding;
    assert.ok(caps.includes("CAP_NET_ADMIN") && caps.includes("CAP_SYS_PTRACE"));
    assert.ok(!caps.includes("CAP_MKNOD") && !caps.includes("CAP_NET_RAW"));
    assert.equal(normalizeCapability("all"), "ALL");
  });

  it("handles ALL in cap-drop (only the adds) and in cap-add (everything minus drops)", () => {
    const dropAll = buildOciSpec(input({ capDrop: ["ALL"], capAdd: ["CHOWN"] }), { host: host() });
    assert.deepEqual(dropAll.process.capabilities.bounding, ["CAP_CHOWN"]);
    const addAll = buildOciSpec(input({ capAdd: ["ALL"], capDrop: ["NET_ADMIN"] }), { host: host() });
    const caps = addAll.process.capabilities.bounding;
    assert.ok(caps.includes("CAP_SYS_ADMIN"));
    assert.ok(!caps.includes("CAP_NET_ADMIN"));
    assert.ok(!caps.includes("CAP_SYS_RESOURCE"), "not in the bounding set");
  });

  it("rejects unknown capabilities with a 400", () => {
    assert.throws(() => buildOciSpec(input({ capAdd: ["FLY"] }), { host: host() }), (e: Error & { statusCode?: number }) => {
      assert.equal(e.statusCode, 400);
      assert.match(e.message, /unknown capability: "CAP_FLY"/);
      return true;
    });
  });

  it("--privileged: every capability of the bounding set (logged), all devices, no masks, no seccomp, rw sysfs", () => {
    const log = recorder();
    const s = buildOciSpec(input({ privileged: true }), { host: host(), logger: log });
    assert.equal(s.process.capabilities.bounding.length, CAPABILITY_NAMES.length - 1);
    assert.ok(!s.process.capabilities.bounding.includes("CAP_SYS_RESOURCE"));
    assert.equal(log.warnings.length, 1);
    assert.deepEqual(s.linux.maskedPaths, []);
    assert.deepEqual(s.linux.readonlyPaths, []);
    assert.equal(s.linux.seccomp, undefined);
    assert.deepEqual(s.linux.devices.map((d) => d.path), ["/dev/kvm"]);
    assert.deepEqual(s.linux.resources.devices, [{ allow: true, access: "rwm" }]);
    assert.ok(s.mounts.find((m) => m.destination === "/sys")!.options.includes("rw"));
  });

  it("masks Docker's paths, /proc/kcore only where the host has it; read-only /proc paths", () => {
    const s = buildOciSpec(input(), { host: host() });
    assert.ok(s.linux.maskedPaths.includes("/proc/keys"));
    assert.ok(s.linux.maskedPaths.includes("/sys/devices/virtual/powercap"));
    assert.ok(!s.linux.maskedPaths.includes("/proc/kcore"));
    assert.ok(buildOciSpec(input(), { host: host({ hasKcore: true }) }).linux.maskedPaths.includes("/proc/kcore"));
    assert.deepEqual(s.linux.readonlyPaths, ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
  });

  it("mounts proc, /dev, devpts, shm (64m default or shmSize), mqueue, ro sysfs and cgroup, etc files", () => {
    const s = buildOciSpec(input(), { host: host() });
    const by = new Map(s.mounts.map((m) => [m.destination, m]));
    assert.equal(by.get("/proc")!.type, "proc");
    assert.equal(by.get("/dev")!.type, "tmpfs");
    assert.equal(by.get("/dev/pts")!.type, "devpts");
    assert.equal(by.get("/dev/mqueue")!.type, "mqueue");
    assert.ok(by.get("/dev/shm")!.options.includes(`size=${64 * 1024 * 1024}`));
    assert.ok(by.get("/sys")!.options.includes("ro"));
    assert.ok(by.get("/sys/fs/cgroup")!.options.includes("ro"));
    assert.deepEqual(by.get("/etc/hosts"), { destination: "/etc/hosts", type: "bind", source: "/data/c1/hosts", options: ["rbind", "rprivate"] });
    assert.equal(by.get("/etc/resolv.conf")!.source, "/data/c1/resolv.conf");
    assert.equal(by.get("/etc/hostname")!.source, "/data/c1/hostname");

    const small = buildOciSpec(input({ shmSize: 1 << 20, readonlyRootfs: true }), { host: host() });
    assert.ok(small.mounts.find((m) => m.destination === "/dev/shm")!.options.includes("size=1048576"));
    assert.ok(small.mounts.find((m) => m.destination === "/etc/hosts")!.options.includes("ro"));
    assert.equal(small.root.readonly, true);
  });

  it("lets a user mount replace a default one and sorts parents before children", () => {
    const s = buildOciSpec(
      input({
        extraMounts: [
          { destination: "/data/sub", type: "bind", source: "/h/b", options: ["rbind"] },
          { destination: "/dev/shm", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
          { destination: "/data", type: "bind", source: "/h/a", options: ["rbind"] },
        ],
      }),
      { host: host() },
    );
    const shm = s.mounts.filter((m) => m.destination === "/dev/shm");
    assert.equal(shm.length, 1);
    assert.deepEqual(shm[0].options, ["size=1m"]);
    const dests = s.mounts.map((m) => m.destination);
    assert.ok(dests.indexOf("/data") < dests.indexOf("/data/sub"));
  });

  it("sets the rootfs propagation as Docker does: rshared for a shared bind, rslave for a slave one, else none", () => {
    const withBind = (options: string[]) =>
      buildOciSpec(input({ extraMounts: [{ destination: "/b", type: "bind", source: "/h/b", options: ["rbind", ...options] }] }), { host: host() }).linux.rootfsPropagation;
    assert.equal(withBind(["rshared"]), "rshared");
    assert.equal(withBind(["rslave"]), "rslave");
    assert.equal(withBind(["slave"]), "rslave");
    assert.equal(withBind(["rprivate"]), undefined);
    assert.equal(withBind([]), undefined);
  });

  it("sets namespaces for none, host and a netns path; cgroupns only on v2", () => {
    const types = (n: SpecInput["network"], h = host()): string[] =>
      buildOciSpec(input({ network: n }), { host: h }).linux.namespaces.map((x) => x.type + (x.path ? `=${x.path}` : ""));
    assert.deepEqual(types("none"), ["pid", "ipc", "uts", "mount", "network"]);
    assert.deepEqual(types("host"), ["pid", "ipc", "uts", "mount"]);
    assert.deepEqual(types({ netnsPath: "/run/wharf/netns/c1" }), ["pid", "ipc", "uts", "mount", "network=/run/wharf/netns/c1"]);
    assert.ok(types("none", host({ cgroupVersion: 2 })).includes("cgroup"));
  });

  it("leaves out the pid, ipc and uts namespaces shared with the host, and joins another container's by path", () => {
    const shared = buildOciSpec(input({ network: "host", pidNamespace: "host", ipcNamespace: "host", utsNamespace: "host" }), { host: host() });
    assert.deepEqual(shared.linux.namespaces, [{ type: "mount" }]);
    assert.equal(shared.hostname, undefined, "runc refuses a hostname without a UTS namespace");
    assert.deepEqual(shared.mounts.find((m) => m.destination === "/dev/shm")?.source, "/dev/shm");
    const joined = buildOciSpec(input({ pidNamespace: { nsPath: "/proc/7/ns/pid" }, ipcNamespace: { nsPath: "/proc/7/ns/ipc" }, shmSource: "/run/b/shm" }), { host: host() });
    assert.deepEqual(joined.linux.namespaces.slice(0, 2), [{ type: "pid", path: "/proc/7/ns/pid" }, { type: "ipc", path: "/proc/7/ns/ipc" }]);
    assert.equal(joined.mounts.find((m) => m.destination === "/dev/shm")?.source, "/run/b/shm");
    const none = buildOciSpec(input({ ipcNamespace: "none" }), { host: host() });
    assert.equal(none.mounts.find((m) => m.destination === "/dev/shm"), undefined);
  });

  it("allows Docker's default devices in the device cgroup and lets the runtime create the nodes", () => {
    const s = buildOciSpec(input(), { host: host() });
    assert.deepEqual(s.linux.devices, []);
    const rules = s.linux.resources.devices;
    assert.deepEqual(rules[0], { allow: false, access: "rwm" });
    for (const [maj, min] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2]]) {
      assert.ok(rules.some((r) => r.allow && r.type === "c" && r.major === maj && r.minor === min && r.access === "rwm"), `${maj}:${min}`);
    }
    assert.ok(rules.some((r) => r.allow && r.type === "c" && r.major === 136 && r.minor === undefined));
  });

  it("sets process fields: user, env, cwd, terminal, hostname, oomScoreAdj 0, cgroupsPath", () => {
    const s = buildOciSpec(input({ user: { uid: 1000, gid: 1000, additionalGids: [1000, 50] }, terminal: true, noNewPrivileges: true }), { host: host() });
    assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 50] });
    assert.deepEqual(s.process.env, ["PATH=/usr/bin:/bin"]);
    assert.equal(s.process.cwd, "/work");
    assert.equal(s.process.terminal, true);
    assert.equal(s.process.noNewPrivileges, true);
    assert.equal(s.process.oomScoreAdj, 0);
    assert.equal(s.hostname, "c1host");
    assert.equal(s.linux.cgroupsPath, "/wharf/c1");
    assert.equal(s.process.rlimits, undefined, "no rlimits unless --ulimit");
  });

  it("--init bind-mounts the binary read-only and runs it with --", () => {
    const s = buildOciSpec(input({ initPath: "/usr/bin/tini-static" }), { host: host() });
    assert.deepEqual(s.process.args, [INIT_PATH_IN_CONTAINER, "--", "sh", "-c", "echo hi"]);
    assert.deepEqual(s.mounts.find((m) => m.destination === INIT_PATH_IN_CONTAINER), {
      destination: "/sbin/docker-init",
      type: "bind",
      source: "/usr/bin/tini-static",
      options: ["bind", "ro"],
    });
  });

  it("maps cgroup v1 resources: memory, memory+swap, shares, --cpus, cpuset, pids", () => {
    const s = buildOciSpec(
      input({
        resources: { memory: 64 << 20, memorySwap: 128 << 20, cpuShares: 512, nanoCpus: 1.5e9, cpusetCpus: "0-1", cpusetMems: "0", pidsLimit: 100 },
      }),
      { host: host() },
    );
    assert.deepEqual(s.linux.resources.memory, { limit: 64 << 20, swap: 128 << 20 });
    assert.deepEqual(s.linux.resources.cpu, { period: 100000, quota: 150000, shares: 512, cpus: "0-1", mems: "0" });
    assert.deepEqual(s.linux.resources.pids, { limit: 100 });
    const raw = buildOciSpec(input({ resources: { cpuQuota: 50000, cpuPeriod: 100000, memorySwap: -1, memory: 1 << 20 } }), { host: host() });
    assert.deepEqual(raw.linux.resources.cpu, { quota: 50000, period: 100000 });
    assert.equal(raw.linux.resources.memory!.swap, -1);
  });

  it("rejects conflicting or inconsistent resources", () => {
    assert.throws(() => buildOciSpec(input({ resources: { nanoCpus: 1e9, cpuQuota: 1000 } }), { host: host() }), /Nano CPUs and CPU Quota/);
    assert.throws(() => buildOciSpec(input({ resources: { memory: 100 << 20, memorySwap: 50 << 20 } }), { host: host() }), /memoryswap limit should be larger/);
    assert.throws(() => buildOciSpec(input({ resources: { memorySwap: 50 << 20 } }), { host: host() }), /set the Memory limit/);
  });

  it("drops the swap limit (with a warning) without swap accounting", () => {
    const log = recorder();
    const s = buildOciSpec(input({ resources: { memory: 1 << 20, memorySwap: 2 << 20 } }), { host: host({ swapAccounting: false }), logger: log });
    assert.deepEqual(s.linux.resources.memory, { limit: 1 << 20 });
    assert.equal(log.warnings.length, 1);
  });

  it("passes --ulimit through, within the daemon's hard limits", () => {
    const s = buildOciSpec(input({ ulimits: [{ Name: "nofile", Soft: 1024, Hard: 20000 }, { Name: "core", Soft: -1, Hard: -1 }] }), { host: host() });
    assert.deepEqual(s.process.rlimits![0], { type: "RLIMIT_NOFILE", soft: 1024, hard: 20000 });
    assert.match(specToJson(s), /"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615/);
  });

  it("refuses a ulimit above the daemon's hard limit, soft above hard, and unknown names (400)", () => {
    assert.throws(
      () => buildOciSpec(input({ ulimits: [{ Name: "nofile", Soft: 1024, Hard: 1048576 }] }), { host: host() }),
      (e: Error & { statusCode?: number }) => e.statusCode === 400 && /hard limit 1048576 is above the daemon's own hard limit 20000/.test(e.message),
    );
    assert.throws(() => buildOciSpec(input({ ulimits: [{ Name: "nofile", Soft: 200, Hard: 100 }] }), { host: host() }), /soft limit must be less than or equal to hard limit: 200 > 100/);
    assert.throws(() => buildOciSpec(input({ ulimits: [{ Name: "bogus", Soft: 1, Hard: 1 }] }), { host: host() }), /invalid ulimit type: bogus/);
  });

  it("rejects an empty command", () => {
    assert.throws(() => buildOciSpec(input({ args: [] }), { host: host() }), /No command specified/);
  });

  it("passes sysctls", () => {
    const s = buildOciSpec(input({ sysctls: { "net.ipv4.ip_forward": "1" } }), { host: host() });
    assert.deepEqual(s.linux.sysctl, { "net.ipv4.ip_forward": "1" });
  });
});

describe("seccomp conversion", () => {
  const names = (s: OciSeccomp): string[] => s.syscalls.map((c) => `${c.names.join(",")}:${c.action}`);

  it("leaves out the syscall ABIs the kernel was built without, as its config says", () => {
    assert.deepEqual([...unsupportedSyscallAbis("CONFIG_IA32_EMULATION=y\n# CONFIG_X86_X32_ABI is not set\n")], process.arch === "x64" ? ["SCMP_ARCH_X32"] : []);
    assert.deepEqual([...unsupportedSyscallAbis("CONFIG_IA32_EMULATION=y\nCONFIG_X86_X32_ABI=y\n")], []);
    assert.deepEqual([...unsupportedSyscallAbis(null)], [], "an unknown config keeps every ABI");
    const s = buildOciSpec(input(), { host: host({ unsupportedSeccompArches: new Set(["SCMP_ARCH_X32"]) }) }).linux.seccomp!;
    assert.deepEqual(s.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
  });

  it("converts the default profile for the host arch and the container's capabilities", () => {
    const s = buildOciSpec(input(), { host: host() }).linux.seccomp!;
    assert.equal(s.defaultAction, "SCMP_ACT_ERRNO");
    // The default profile is narrowed to Docker's rules: EPERM, and no namespaces without CAP_SYS_ADMIN.
    assert.equal(s.defaultErrnoRet, 1);
    assert.deepEqual(s.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    assert.deepEqual(names(s), [
      "read,write:SCMP_ACT_ALLOW",
      "personality:SCMP_ACT_ALLOW",
      "arch_prctl:SCMP_ACT_ALLOW",
      "bpf:SCMP_ACT_ERRNO",
      "oldsyscall:SCMP_ACT_ALLOW",
      "clone:SCMP_ACT_ALLOW",
      "clone3:SCMP_ACT_ERRNO",
    ]);
    assert.deepEqual(s.syscalls[5].args, [{ index: 0, value: 0x7e020000, op: "SCMP_CMP_MASKED_EQ" }]);
    assert.equal(s.syscalls[6].errnoRet, 38);
    assert.deepEqual(s.syscalls[1].args, [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }]);
    assert.equal(s.syscalls[3].errnoRet, 1);
  });

  it("includes rules gated on a capability the container has", () => {
    const s = buildOciSpec(input({ capAdd: ["SYS_ADMIN"] }), { host: host() }).linux.seccomp!;
    assert.ok(names(s).includes("bpf:SCMP_ACT_ALLOW"));
    assert.ok(!names(s).includes("bpf:SCMP_ACT_ERRNO"));
  });

  it("uses the arch's own entries on arm64", () => {
    const s = buildOciSpec(input(), { host: host({ arch: "arm64" }) }).linux.seccomp!;
    assert.deepEqual(s.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    assert.ok(names(s).includes("notonamd64:SCMP_ACT_ALLOW"));
    assert.ok(!names(s).includes("arch_prctl:SCMP_ACT_ALLOW"));
  });

  it("unconfined means no seccomp; a given profile is converted the same way", () => {
    assert.equal(buildOciSpec(input({ seccomp: "unconfined" }), { host: host() }).linux.seccomp, undefined);
    const custom = JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
    const s = buildOciSpec(input({ seccomp: { profileJson: custom } }), { host: host() }).linux.seccomp!;
    assert.deepEqual(s, { defaultAction: "SCMP_ACT_ALLOW", architectures: [], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
  });

  it("rejects a profile that is not JSON or not a profile (400)", () => {
    for (const bad of ["{not json", JSON.stringify({ syscalls: [] }), JSON.stringify({ defaultAction: "X", syscalls: [{ names: "x" }] })]) {
      assert.throws(
        () => buildOciSpec(input({ seccomp: { profileJson: bad } }), { host: host() }),
        (e: Error & { statusCode?: number }) => e.statusCode === 400 && /^Decoding seccomp profile failed/.test(e.message),
      );
    }
  });

  it("converts the installed containers-common profile", { skip: !fs.existsSync("/usr/share/containers/seccomp.json") }, () => {
    const text = fs.readFileSync("/usr/share/containers/seccomp.json", "utf8");
    const s = buildOciSpec(input(), { host: host({ defaultSeccompProfile: () => text }) }).linux.seccomp!;
    assert.ok(s.architectures.includes("SCMP_ARCH_X86_64"));
    const allowed = new Set(s.syscalls.filter((c) => c.action === "SCMP_ACT_ALLOW" && !c.args).flatMap((c) => c.names));
    assert.ok(allowed.has("read") && allowed.has("arch_prctl"));
    assert.ok(!allowed.has("bpf"), "bpf needs CAP_SYS_ADMIN");
    assert.ok(!allowed.has("s390_pci_mmio_read"));
    // Docker's rules on top of Podman's profile: no keyring, no new namespaces, clone without namespace flags only.
    for (const call of ["keyctl", "add_key", "request_key", "unshare", "setns", "mount", "umount2", "clone", "clone3"]) assert.ok(!allowed.has(call), call);
    assert.ok(s.syscalls.some((c) => c.names.includes("clone") && c.args?.[0]?.op === "SCMP_CMP_MASKED_EQ"));
    const admin = buildOciSpec(input({ capAdd: ["SYS_ADMIN"] }), { host: host({ defaultSeccompProfile: () => text }) }).linux.seccomp!;
    const adminAllowed = new Set(admin.syscalls.filter((c) => c.action === "SCMP_ACT_ALLOW" && !c.args).flatMap((c) => c.names));
    for (const call of ["unshare", "setns", "mount", "clone"]) assert.ok(adminAllowed.has(call), `${call} with CAP_SYS_ADMIN`);
    assert.ok(!adminAllowed.has("keyctl"), "the keyring stays closed even with CAP_SYS_ADMIN");
  });
});

describe("host facts parsing", () => {
  it("reads the bounding set and hard limits", () => {
    const caps = parseCapMask("000001fffeffffff");
    assert.ok(!caps.has("CAP_SYS_RESOURCE"));
    assert.ok(caps.has("CAP_SYS_ADMIN") && caps.has("CAP_CHECKPOINT_RESTORE"));
    const limits = parseLimits(
      "Limit                     Soft Limit           Hard Limit           Units     \n" +
        "Max open files            20000                20000                files     \n" +
        "Max core file size        0                    unlimited            bytes     \n" +
        "Max nice priority         0                    0                    \n",
    );
    assert.equal(limits.get("nofile"), 20000);
    assert.equal(limits.get("core"), Infinity);
    assert.equal(limits.get("nice"), 0);
  });
});
