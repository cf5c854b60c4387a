import { test } from "node:test";
import * as assert from "node:assert/strict";
import { FlagError, parseFlags } from "../../src/cli/flags";
import { buildCreateRequest, CreateRequest } from "../../src/cli/run-options";
import { containerFlags } from "../../src/cli/run-flags";
import { parsePortSpec, parsePorts } from "../../src/cli/opts/ports";
import { parseMount, parseVolumes } from "../../src/cli/opts/mounts";
import { parseKvFile, parseNanoCpus, parseUlimit } from "../../src/cli/opts/values";

const files: Record<string, string> = {
  "/env.list": "# comment\n\nFOO=bar\n  SPACED=x y \nFROM_HOST\nMISSING\n",
  "/labels": "a=1\nnovalue\nb=2\n",
  "/seccomp.json": '{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n',
};

function build(argv: string[], command: "run" | "create" = "run"): CreateRequest {
  const { flags, args } = parseFlags(argv, containerFlags(command), { stopAtFirstPositional: true });
  return buildCreateRequest(flags, args, {
    env: { FROM_HOST: "host-value", HOME_VAR: "/root" },
    cwd: "/work/dir",
    readFile: (f) => {
      const text = files[f];
      if (text === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return text;
    },
  });
}

test("plain run: image, command, attach defaults, no noise", () => {
  const req = build(["busybox", "echo", "hello"]);
  assert.deepEqual(req.body, {
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: [],
    Cmd: ["echo", "hello"],
    Image: "busybox",
    Labels: {},
    HostConfig: {
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
      AutoRemove: false,
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
    },
    NetworkingConfig: { EndpointsConfig: {} },
  });
  assert.equal(req.pull, "missing");
  assert.equal(req.detach, false);
  assert.equal(req.sigProxy, true);
});

test("options stop at the image name", () => {
  const req = build(["-d", "busybox", "sh", "-c", "x -d"]);
  assert.deepEqual(req.body.Cmd, ["sh", "-c", "x -d"]);
  assert.equal(req.detach, true);
  assert.equal(req.body.AttachStdout, false);
  assert.equal(req.body.AttachStderr, false);
});

test("-i attaches stdin and closes it with the client's (StdinOnce)", () => {
  const req = build(["-i", "--rm", "busybox", "cat"]);
  assert.equal(req.body.AttachStdin, true);
  assert.equal(req.body.OpenStdin, true);
  assert.equal(req.body.StdinOnce, true);
  assert.equal(req.body.HostConfig.AutoRemove, true);
  const detached = build(["-di", "busybox"]);
  assert.equal(detached.body.OpenStdin, true);
  assert.equal(detached.body.AttachStdin, false);
  assert.equal(detached.body.StdinOnce, false);
});

test("-a picks streams; -a with -d conflicts", () => {
  const req = build(["-a", "stdout", "-a", "STDIN", "busybox"]);
  assert.equal(req.body.AttachStdout, true);
  assert.equal(req.body.AttachStderr, false);
  assert.equal(req.body.AttachStdin, true);
  assert.throws(() => build(["-a", "foo", "busybox"]), /valid streams are STDIN, STDOUT and STDERR/);
});

test("environment: -e, -e KEY from the client env, --env-file, order and overrides", () => {
  const req = build(["--env-file", "/env.list", "-e", "A=1", "-e", "FROM_HOST", "-e", "UNSET_KEY", "-e", "EMPTY=", "busybox"]);
  assert.deepEqual(req.body.Env, [
    "FOO=bar",
    "SPACED=x y ",
    "FROM_HOST=host-value",
    "A=1",
    "FROM_HOST=host-value",
    "UNSET_KEY",
    "EMPTY=",
  ]);
  assert.throws(() => build(["--env-file", "/nope", "busybox"]), /open \/nope: no such file or directory/);
  assert.throws(() => build(["-e", "=x", "busybox"]), FlagError);
});

test("labels, label files, workdir, user, hostname, name, entrypoint", () => {
  const req = build([
    "--label-file", "/labels", "-l", "c=3", "--label", "a=override",
    "-w", "/srv", "-u", "1000:1000", "-h", "box", "--name", "web", "--domainname", "example.org",
    "--entrypoint", "/bin/sh -c", "busybox",
  ]);
  assert.deepEqual(req.body.Labels, { a: "override", b: "2", c: "3" });
  assert.equal(req.body.WorkingDir, "/srv");
  assert.equal(req.body.User, "1000:1000");
  assert.equal(req.body.Hostname, "box");
  assert.equal(req.body.Domainname, "example.org");
  assert.equal(req.name, "web");
  assert.deepEqual(req.body.Entrypoint, ["/bin/sh -c"]);
  assert.deepEqual(build(["--entrypoint", "", "busybox"]).body.Entrypoint, [""]);
  assert.equal(build(["busybox"]).body.Entrypoint, undefined);
});

test("resources: memory, swap, cpus, shares, cpusets, pids, shm", () => {
  const hc = build([
    "-m", "64m", "--memory-swap", "-1", "--cpus", "1.5", "--cpu-shares", "512", "--cpuset-cpus", "0-1",
    "--cpuset-mems", "0", "--pids-limit", "100", "--shm-size", "128m", "--memory-reservation", "32MiB", "busybox",
  ]).body.HostConfig;
  assert.equal(hc.Memory, 64 * 1024 * 1024);
  assert.equal(hc.MemorySwap, -1);
  assert.equal(hc.NanoCpus, 1_500_000_000);
  assert.equal(hc.CpuShares, 512);
  assert.equal(hc.CpusetCpus, "0-1");
  assert.equal(hc.CpusetMems, "0");
  assert.equal(hc.PidsLimit, 100);
  assert.equal(hc.ShmSize, 128 * 1024 * 1024);
  assert.equal(hc.MemoryReservation, 32 * 1024 * 1024);
  assert.equal(build(["--memory-swap", "1g", "busybox"]).body.HostConfig.MemorySwap, 1024 ** 3);
});

test("bad sizes are flag errors with docker's text", () => {
  assert.throws(
    () => build(["-m", "12xyz", "busybox"]),
    (err: unknown) => err instanceof FlagError && /^invalid argument "12xyz" for "-m, --memory" flag: /.test(err.message),
  );
  assert.throws(
    () => build(["--cpus", "abc", "busybox"]),
    new FlagError('invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number'),
  );
  assert.throws(
    () => build(["--ulimit", "nofile", "busybox"]),
    new FlagError('invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'),
  );
});

test("cpus as rational numbers", () => {
  assert.equal(parseNanoCpus("2"), 2e9);
  assert.equal(parseNanoCpus("0.5"), 5e8);
  assert.equal(parseNanoCpus(".25"), 2.5e8);
  assert.equal(parseNanoCpus("3/2"), 1.5e9);
  assert.throws(() => parseNanoCpus("0.0000000001"), /value is too precise/);
});

test("ulimits: name=soft[:hard], sorted, last wins", () => {
  assert.deepEqual(parseUlimit("nofile=1024:2048"), { Name: "nofile", Soft: 1024, Hard: 2048 });
  assert.deepEqual(parseUlimit("nproc=10"), { Name: "nproc", Soft: 10, Hard: 10 });
  assert.throws(() => parseUlimit("bogus=1"), /invalid ulimit type: bogus/);
  assert.throws(() => parseUlimit("nofile=2:1"), /ulimit soft limit must be less than or equal to hard limit: 2 > 1/);
  const hc = build(["--ulimit", "nproc=5", "--ulimit", "nofile=1:2", "--ulimit", "nproc=6", "busybox"]).body.HostConfig;
  assert.deepEqual(hc.Ulimits, [
    { Name: "nofile", Soft: 1, Hard: 2 },
    { Name: "nproc", Soft: 6, Hard: 6 },
  ]);
});

test("restart policies and the --rm conflict", () => {
  assert.deepEqual(build(["--restart", "always", "busybox"]).body.HostConfig.RestartPolicy, { Name: "always", MaximumRetryCount: 0 });
  assert.deepEqual(build(["--restart", "on-failure:3", "busybox"]).body.HostConfig.RestartPolicy, {
    Name: "on-failure",
    MaximumRetryCount: 3,
  });
  assert.deepEqual(build(["--restart", "unless-stopped", "busybox"]).body.HostConfig.RestartPolicy, {
    Name: "unless-stopped",
    MaximumRetryCount: 0,
  });
  assert.throws(() => build(["--restart", "on-failure:x", "busybox"]), /maximum retry count must be an integer/);
  assert.throws(() => build(["--rm", "--restart", "always", "busybox"]), /cannot specify both --restart and --rm/);
  assert.equal(build(["--rm", "--restart", "no", "busybox"]).body.HostConfig.AutoRemove, true);
});

test("security: privileged, caps, read-only, security-opt with a seccomp file", () => {
  const hc = build([
    "--privileged", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--read-only",
    "--security-opt", "no-new-privileges", "--security-opt", "seccomp=/seccomp.json",
    "--security-opt", "seccomp=unconfined", "busybox",
  ]).body.HostConfig;
  assert.equal(hc.Privileged, true);
  assert.deepEqual(hc.CapAdd, ["CAP_NET_ADMIN"]);
  assert.deepEqual(hc.CapDrop, ["ALL"]);
  assert.deepEqual(build(["--cap-add", "sys_admin", "--cap-add", "CAP_CHOWN", "--cap-add", "SYS_ADMIN", "busybox"]).body.HostConfig.CapAdd, [
    "CAP_CHOWN",
    "CAP_SYS_ADMIN",
  ]);
  assert.equal(hc.ReadonlyRootfs, true);
  assert.deepEqual(hc.SecurityOpt, [
    "no-new-privileges",
    'seccomp={"defaultAction":"SCMP_ACT_ALLOW"}',
    "seccomp=unconfined",
  ]);
  assert.throws(() => build(["--security-opt", "seccomp=/none", "busybox"]), /opening seccomp profile \(\/none\) failed: open \/none: no such file or directory/);
  assert.throws(() => build(["--security-opt", "bogus", "busybox"]), /invalid --security-opt: "bogus"/);
  const sys = build(["--security-opt", "systempaths=unconfined", "busybox"]).body.HostConfig;
  assert.deepEqual(sys.MaskedPaths, []);
  assert.equal(sys.SecurityOpt, undefined);
});

test("stop signal/timeout, init, tty, pull, platform", () => {
  const req = build(["--stop-signal", "SIGUSR1", "--stop-timeout", "5", "--init", "-t", "--pull", "never", "--platform", "linux/amd64", "busybox"]);
  assert.equal(req.body.StopSignal, "SIGUSR1");
  assert.equal(req.body.StopTimeout, 5);
  assert.equal(req.body.HostConfig.Init, true);
  assert.equal(req.body.Tty, true);
  assert.equal(req.pull, "never");
  assert.equal(req.platform, "linux/amd64");
  assert.equal(build(["busybox"]).body.HostConfig.Init, undefined);
  assert.throws(() => build(["--pull", "bogus", "busybox"]), /invalid pull option: 'bogus': must be one of "always", "missing" or "never"/);
});

test("network, dns, hosts", () => {
  const req = build(["--network", "none", "--dns", "127.0.0.1", "--add-host", "db:10.0.0.2", "--add-host", "gw=host-gateway", "busybox"]);
  assert.equal(req.body.HostConfig.NetworkMode, "none");
  assert.deepEqual(req.body.HostConfig.Dns, ["127.0.0.1"]);
  assert.deepEqual(req.body.HostConfig.ExtraHosts, ["db:10.0.0.2", "gw:host-gateway"]);
  assert.equal(build(["busybox"]).body.HostConfig.NetworkMode, undefined);
  assert.throws(() => build(["--dns", "nope", "busybox"]), FlagError);
  const aliased = build(["--network", "mynet", "--network-alias", "web", "--ip", "10.1.0.5", "--mac-address", "02:42:ac:11:00:02", "busybox"]);
  assert.deepEqual(aliased.body.NetworkingConfig.EndpointsConfig, {
    mynet: { Aliases: ["web"], IPAMConfig: { IPv4Address: "10.1.0.5", IPv6Address: undefined }, MacAddress: "02:42:ac:11:00:02" },
  });
});

test("ports: -p forms, ranges, -P, --expose", () => {
  const req = build(["-p", "8080:80", "-p", "127.0.0.1::53/udp", "-p", "9000", "-P", "--expose", "7000-7001", "busybox"]);
  assert.deepEqual(req.body.HostConfig.PortBindings, {
    "53/udp": [{ HostIp: "127.0.0.1", HostPort: "" }],
    "80/tcp": [{ HostIp: "", HostPort: "8080" }],
    "9000/tcp": [{ HostIp: "", HostPort: "" }],
  });
  // keys in Go's (sorted) order, as docker's body has them
  assert.deepEqual(Object.keys(req.body.HostConfig.PortBindings ?? {}), ["53/udp", "80/tcp", "9000/tcp"]);
  assert.deepEqual(Object.keys(req.body.ExposedPorts ?? {}), ["53/udp", "7000/tcp", "7001/tcp", "80/tcp", "9000/tcp"]);
  assert.equal(req.body.HostConfig.PublishAllPorts, true);

  assert.deepEqual(parsePortSpec("8000-8001:80-81"), [
    { port: "80/tcp", binding: { HostIp: "", HostPort: "8000" } },
    { port: "81/tcp", binding: { HostIp: "", HostPort: "8001" } },
  ]);
  assert.deepEqual(parsePortSpec("8000-8010:80"), [{ port: "80/tcp", binding: { HostIp: "", HostPort: "8000-8010" } }]);
  assert.deepEqual(parsePortSpec("[::1]:8080:80"), [{ port: "80/tcp", binding: { HostIp: "::1", HostPort: "8080" } }]);
  assert.deepEqual(parsePortSpec("published=8080,target=80,protocol=udp"), [
    { port: "80/udp", binding: { HostIp: "", HostPort: "8080" } },
  ]);
  assert.throws(() => parsePortSpec("abc"), /invalid containerPort: abc/);
  assert.throws(() => parsePortSpec("x:80"), /invalid hostPort: x/);
  assert.throws(() => parsePortSpec("80/foo"), /invalid proto: foo/);
  assert.throws(() => parsePortSpec("1-3:80-81"), /invalid ranges specified for container and host Ports: 80-81 and 1-3/);
  assert.throws(() => parsePorts([], ["x"]), /invalid range format for --expose/);
  assert.throws(() => build(["-p", "abc", "busybox"]), /invalid containerPort: abc/);
});

test("volumes: anonymous, named, host paths (relative made absolute)", () => {
  const req = build(["-v", "/data", "-v", "myvol:/var/lib", "-v", "./src:/src:ro", "-v", "/host:/ctr", "busybox"]);
  assert.deepEqual(req.body.Volumes, { "/data": {} });
  assert.deepEqual(req.body.HostConfig.Binds, ["myvol:/var/lib", "/work/dir/src:/src:ro", "/host:/ctr"]);
  assert.throws(() => parseVolumes([":/x"], "/"), /empty section between colons/);
});

test("--mount and --tmpfs", () => {
  const req = build([
    "--mount", "type=bind,source=/src,target=/dst,readonly",
    "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=64m,tmpfs-mode=1770",
    "--mount", "source=vol,target=/v,volume-nocopy",
    "--tmpfs", "/run:rw,size=64m", "--tmpfs", "/tmp",
    "busybox",
  ]);
  assert.deepEqual(req.body.HostConfig.Mounts, [
    { Type: "bind", Source: "/src", Target: "/dst", ReadOnly: true },
    { Type: "tmpfs", Target: "/scratch", TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770 } },
    { Type: "volume", Source: "vol", Target: "/v", VolumeOptions: { NoCopy: true } },
  ]);
  assert.deepEqual(req.body.HostConfig.Tmpfs, { "/run": "rw,size=64m", "/tmp": "" });
  assert.deepEqual(parseMount('type=bind,"src=/a,b",dst=/c', "/"), { Type: "bind", Source: "/a,b", Target: "/c" });
  assert.throws(() => parseMount("type=bind,bogus=1", "/"), /unexpected key 'bogus' in 'bogus=1'/);
  assert.throws(() => parseMount("type=bind,volume-nocopy", "/"), /cannot mix 'volume-\*' options with mount type 'bind'/);
  assert.throws(() => build(["--mount", "target", "busybox"]), FlagError);
});

test("env files: comments, blanks, lookups, whitespace in names", () => {
  assert.deepEqual(parseKvFile("f", "A=1\r\n# x\nB\nC\n", (k) => (k === "B" ? "b" : undefined)), ["A=1", "B=b"]);
  assert.throws(() => parseKvFile("f", "BAD KEY=1\n"), /invalid env file \(f\): variable 'BAD KEY' contains whitespaces/);
});

test("create has no run-only flags", () => {
  assert.throws(() => build(["-d", "busybox"], "create"), new FlagError("unknown shorthand flag: 'd' in -d"));
  assert.equal(build(["--rm", "busybox"], "create").body.HostConfig.AutoRemove, true);
});
