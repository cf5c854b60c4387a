import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as fc from "fast-check";
import { type TestDaemon, useDaemon } from "../helpers/daemon";
import { fuzzParams } from "./fuzz-settings";

/**
 * POST /containers/create against a real private wharfd with bodies that are mostly plausible
 * and partly wrong: every field a client may send, with values of the right type and of the
 * wrong one, edge numbers, bad references, bad ports, bad mounts. The daemon must answer
 * every one with 201 (then the container is removed) or a Docker-shaped 4xx with a message,
 * never a 500, and stay up.
 */

const wild = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }));
const number = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, 1.5, 4 * 1024 * 1024, 64 * 1024 * 1024));
const maybe = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 12, arbitrary: plausible }, { weight: 1, arbitrary: wild });
const strings = (...values: string[]): fc.Arbitrary<string> => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });
/** A few of the fields at a time: with all of them, one would almost always be wrong. */
const few = (all: fc.Arbitrary<Record<string, unknown>>, max: number): fc.Arbitrary<Record<string, unknown>> =>
  all.chain((obj) => fc.shuffledSubarray(Object.keys(obj), { maxLength: max }).map((keys) => Object.fromEntries(keys.map((k) => [k, obj[k]]))));
const portKey = strings("80/tcp", "53/udp", "8080", "0/tcp", "65536/tcp", "80/sctp", "1-3/tcp", "x/tcp", "80/bogus");

function hostConfig(sandbox: string): fc.Arbitrary<Record<string, unknown>> {
  const hostPath = fc.constantFrom(path.join(sandbox, "bind"), path.join(sandbox, "missing"), "relative", "");
  return few(fc.record(
    {
      NetworkMode: maybe(strings("bridge", "host", "none", "default", "container:nope", "")),
      PidMode: maybe(strings("", "host", "container:nope", "container:", "private")),
      IpcMode: maybe(strings("", "private", "shareable", "none", "host", "container:nope", "bogus")),
      UTSMode: maybe(strings("", "host", "container:nope")),
      Memory: maybe(number),
      MemorySwap: maybe(number),
      NanoCpus: maybe(number),
      CpuShares: maybe(number),
      CpusetCpus: maybe(strings("0", "0-1", "1,0", "99", "a", "")),
      PidsLimit: maybe(number),
      ShmSize: maybe(number),
      Privileged: maybe(fc.boolean()),
      ReadonlyRootfs: maybe(fc.boolean()),
      AutoRemove: maybe(fc.boolean()),
      CapAdd: maybe(fc.array(strings("NET_ADMIN", "ALL", "CAP_SYS_TIME", "BOGUS"), { maxLength: 3 })),
      CapDrop: maybe(fc.array(strings("ALL", "CHOWN", "BOGUS"), { maxLength: 3 })),
      SecurityOpt: maybe(fc.array(strings("no-new-privileges", "seccomp=unconfined", "seccomp=/nope.json", "apparmor=unconfined", "label=disable", "bogus"), { maxLength: 2 })),
      RestartPolicy: maybe(fc.record({ Name: maybe(strings("no", "always", "on-failure", "unless-stopped", "")), MaximumRetryCount: maybe(number) })),
      PortBindings: maybe(fc.dictionary(portKey, fc.array(fc.record({ HostIp: maybe(strings("", "127.0.0.1", "::1", "300.1.1.1")), HostPort: maybe(strings("", "0", "8080", "70000", "1-2", "x")) }), { maxLength: 2 }), { maxKeys: 2 })),
      PublishAllPorts: maybe(fc.boolean()),
      Binds: maybe(fc.array(fc.tuple(hostPath, strings("/data", "relative", "/", "/proc"), fc.constantFrom("", ":ro", ":rw", ":z", ":bogus", ":ro:rw")).map(([h, c, o]) => `${h}:${c}${o}`), { maxLength: 2 })),
      Mounts: maybe(fc.array(fc.record({ Type: maybe(strings("bind", "volume", "tmpfs", "npipe")), Source: maybe(fc.oneof(hostPath, strings("vol1", ""))), Target: maybe(strings("/m", "", "rel")), ReadOnly: maybe(fc.boolean()) }), { maxLength: 2 })),
      Tmpfs: maybe(fc.dictionary(strings("/t", "rel", ""), strings("", "size=1m", "mode=1777", "size=bogus"), { maxKeys: 2 })),
      Dns: maybe(fc.array(strings("127.0.0.1", "::1", "nope"), { maxLength: 2 })),
      ExtraHosts: maybe(fc.array(strings("h:127.0.0.1", "h:host-gateway", "h", ":1.2.3.4", "h:nope"), { maxLength: 2 })),
      Sysctls: maybe(fc.dictionary(strings("net.ipv4.ip_forward", "kernel.msgmax", "vm.swappiness", "bogus"), strings("1", "0", "x"), { maxKeys: 2 })),
      Ulimits: maybe(fc.array(fc.record({ Name: maybe(strings("nofile", "nproc", "bogus")), Soft: maybe(number), Hard: maybe(number) }), { maxLength: 2 })),
      LogConfig: maybe(fc.record({ Type: maybe(strings("json-file", "local", "none", "syslog", "")), Config: maybe(fc.dictionary(strings("max-size", "max-file", "bogus"), strings("1m", "3", "-1", "x"), { maxKeys: 2 })) })),
      VolumesFrom: maybe(fc.array(strings("nope", "nope:ro"), { maxLength: 1 })),
      Runtime: maybe(strings("runc", "", "bogus")),
      ConsoleSize: maybe(fc.tuple(number, number)),
      Init: maybe(fc.boolean()),
    },
  ), 4);
}

function createBody(sandbox: string): fc.Arbitrary<Record<string, unknown>> {
  return few(fc.record(
    {
      Image: maybe(strings("busybox", "busybox:latest", "", "BUSYBOX", "nope:1", "busybox@sha256:" + "0".repeat(64))),
      Cmd: maybe(fc.oneof(fc.array(strings("true", "sh", ""), { maxLength: 2 }), fc.string({ maxLength: 5 }))),
      Entrypoint: maybe(fc.oneof(fc.array(strings("", "sh"), { maxLength: 2 }), fc.string({ maxLength: 5 }))),
      Env: maybe(fc.array(strings("A=b", "=x", "", "A", "PATH="), { maxLength: 3 })),
      User: maybe(strings("0", "0:0", "nobody", "1000:1000", "x:y", "")),
      WorkingDir: maybe(strings("/w", "relative", "")),
      Hostname: maybe(strings("h", "-bad", "a".repeat(70), "")),
      Domainname: maybe(strings("example.test", "")),
      Tty: maybe(fc.boolean()),
      OpenStdin: maybe(fc.boolean()),
      StopSignal: maybe(strings("SIGTERM", "SIGKILL", "9", "0", "BOGUS", "SIGRTMIN+3")),
      StopTimeout: maybe(number),
      Labels: maybe(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 })),
      ExposedPorts: maybe(fc.dictionary(portKey, fc.constant({}), { maxKeys: 2 })),
      Volumes: maybe(fc.dictionary(strings("/v", "rel", ""), fc.constant({}), { maxKeys: 2 })),
      Healthcheck: maybe(fc.record({ Test: maybe(fc.array(strings("CMD", "CMD-SHELL", "NONE", "true"), { maxLength: 2 })), Interval: maybe(number), Retries: maybe(number) })),
      MacAddress: maybe(strings("02:42:ac:11:00:02", "zz", "")),
      NetworkingConfig: maybe(fc.record({ EndpointsConfig: maybe(fc.dictionary(strings("bridge", "nope"), fc.record({ Aliases: maybe(fc.array(fc.string({ maxLength: 4 }), { maxLength: 1 })), IPAMConfig: maybe(fc.record({ IPv4Address: maybe(strings("10.0.0.5", "x")) })) }), { maxKeys: 1 })) })),
      HostConfig: maybe(hostConfig(sandbox)),
    },
  ), 5).map((body) => ({ Image: "busybox", ...body }));
}

describe("POST /containers/create with fuzzed bodies", () => {
  let d: TestDaemon;
  let sandbox: string;
  useDaemon((daemon) => (d = daemon));
  before(() => {
    sandbox = fs.mkdtempSync(path.join(d.dataRoot, "..", "fuzz-"));
    fs.mkdirSync(path.join(sandbox, "bind"));
  });
  after(() => fs.rmSync(sandbox, { recursive: true, force: true }));

  test("every body gets 201 or a Docker-shaped 4xx, never a 500, and the daemon stays up", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(createBody("/nonexistent-until-before"), async (template) => {
        // the sandbox is known only after before(): rebuild bind paths into it
        const body = JSON.parse(JSON.stringify(template).split("/nonexistent-until-before").join(sandbox)) as unknown;
        const res = await d.api("POST", "/containers/create", body);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 201) {
          const id = res.json<{ Id: string }>().Id;
          const removed = await d.api("DELETE", `/containers/${id}?force=1&v=1`);
          assert.equal(removed.status, 204, removed.body);
          return;
        }
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status} for ${JSON.stringify(body)}: ${res.body}`);
        const message = res.json<{ message?: unknown }>().message;
        assert.ok(typeof message === "string" && message.length > 0, `no message: ${res.body}`);
      }),
      fuzzParams(250),
    );
    assert.equal((await d.api("GET", "/_ping")).status, 200);
    // a fuzz run that never got past validation would prove little
    assert.ok((statuses.get(201) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
    const left = await d.api("GET", "/containers/json?all=1");
    assert.deepEqual(left.json(), []);
  });
});
