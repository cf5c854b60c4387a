import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as fc from "fast-check";
import { type TestDaemon, useDaemon } from "../helpers/daemon";
import { fuzzParams } from "./fuzz-settings";

/**
 * The rest of the Engine API (create has its own fuzz file) against a real private wharfd:
 * query parameters, filters, path names and bodies that are mostly plausible and partly wrong,
 * sent at a running container, a created one, a user network, a volume, the image, and names
 * that do not exist. Every answer is a success or a Docker-shaped 4xx with a message, never a
 * 500, and the daemon stays up. Left out: what streams without end (attach, wait, follow,
 * stats streams) and what reaches outside the machine (pull, push, auth, build).
 */

interface Request {
  method: string;
  path: string;
  body?: unknown;
}

const HOSTILE = ["..", "../..", "/", "%2e%2e", "a".repeat(300), "*", "(a+)+$", "\u0000", "ü", " ", ""];
const text = (...plausible: string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...plausible) }, { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
const bool = text("1", "0", "true", "false", "yes");
const int = text("0", "1", "-1", "10", "2147483648", "1.5", "1e3");
const q = (params: Record<string, string | undefined>): string => {
  const parts = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(v as string)}`);
  return parts.length ? `?${parts.join("&")}` : "";
};
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

const FILTER_KEYS = ["name", "label", "label!", "status", "id", "ancestor", "before", "since", "until", "dangling", "reference", "driver", "type", "network", "volume", "exited", "health", "is-task", "scope", "publish", "expose", "bogus"];
const filterValue = text("fx", "busybox", "running", "exited", "true", "false", "a=b", "a", "10m", "2026-01-01", "0", "80/tcp", "^fx$", "bridge", "local", "custom");
const filters = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.constantFrom(...FILTER_KEYS), fc.oneof(fc.array(filterValue, { maxLength: 2 }), fc.dictionary(filterValue, fc.boolean(), { maxKeys: 2 })), { maxKeys: 3 }).map((f) => JSON.stringify(f)) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("{", "[]", "null", '{"name":"x"}', '{"label":[1]}')) },
);

const container = (): fc.Arbitrary<string> => text("fx", "fx-created", "nope", "fx2");
const signal = text("SIGTERM", "SIGKILL", "SIGUSR1", "HUP", "9", "0", "65", "SIGBOGUS", "SIGRTMIN+3");
const timeout = fc.constantFrom("0", "1", "-1", "x", "");
const resources = fc.record(
  { Memory: fc.oneof(fc.integer(), fc.constantFrom(0, 4 * 1024 * 1024, 2 ** 53)), MemorySwap: fc.integer(), CpuShares: fc.integer(), CpuPeriod: fc.integer(), CpuQuota: fc.integer(), MemoryReservation: fc.integer(), BlkioWeight: fc.integer(), NanoCpus: fc.integer(), PidsLimit: fc.integer(), CpusetCpus: text("0", "0-1", "9"), RestartPolicy: fc.record({ Name: text("no", "always", "on-failure", "unless-stopped"), MaximumRetryCount: fc.integer() }) },
  { requiredKeys: [] },
);

const containerRequests: Array<fc.Arbitrary<Request>> = [
  fc.record({ all: opt(bool), limit: opt(int), size: opt(bool), filters: opt(filters) }).map((p) => ({ method: "GET", path: `/containers/json${q(p)}` })),
  container().map((c) => ({ method: "GET", path: `/containers/${encodeURIComponent(c)}/json` })),
  fc.tuple(container(), fc.record({ stdout: opt(bool), stderr: opt(bool), since: opt(int), until: opt(int), tail: opt(text("all", "0", "5", "-3")), timestamps: opt(bool) })).map(([c, p]) => ({ method: "GET", path: `/containers/${encodeURIComponent(c)}/logs${q(p)}` })),
  fc.tuple(container(), opt(text("aux", "-ef", "o pid,args", "--bogus", "; rm -rf /", "$(id)"))).map(([c, a]) => ({ method: "GET", path: `/containers/${encodeURIComponent(c)}/top${q({ ps_args: a })}` })),
  container().map((c) => ({ method: "GET", path: `/containers/${encodeURIComponent(c)}/changes` })),
  fc.tuple(fc.constantFrom("GET", "HEAD"), container(), text("/etc/hostname", "/", "/../../etc", "/proc/self/root/etc/shadow", "relative", "/nope")).map(([m, c, p]) => ({ method: m, path: `/containers/${encodeURIComponent(c)}/archive${q({ path: p })}` })),
  fc.tuple(container(), opt(signal)).map(([c, s]) => ({ method: "POST", path: `/containers/${encodeURIComponent(c)}/kill${q({ signal: s })}` })),
  fc.tuple(fc.constantFrom("stop", "restart"), container(), opt(timeout), opt(signal)).map(([op, c, t, s]) => ({ method: "POST", path: `/containers/${encodeURIComponent(c)}/${op}${q({ t, signal: s })}` })),
  fc.tuple(fc.constantFrom("start", "pause", "unpause"), container()).map(([op, c]) => ({ method: "POST", path: `/containers/${encodeURIComponent(c)}/${op}` })),
  fc.tuple(container(), resources).map(([c, body]) => ({ method: "POST", path: `/containers/${encodeURIComponent(c)}/update`, body })),
  fc.tuple(container(), text("fx-renamed", "", "-bad", "/slash", "fx")).map(([c, n]) => ({ method: "POST", path: `/containers/${encodeURIComponent(c)}/rename${q({ name: n })}` })),
  fc.tuple(container(), opt(int), opt(int)).map(([c, h, w]) => ({ method: "POST", path: `/containers/${encodeURIComponent(c)}/resize${q({ h, w })}` })),
  fc.tuple(container(), opt(bool)).map(([c, oneShot]) => ({ method: "GET", path: `/containers/${encodeURIComponent(c)}/stats${q({ stream: "false", "one-shot": oneShot })}` })),
  fc.tuple(
    container(),
    fc.record({ Cmd: fc.oneof(fc.array(text("true", "sh", ""), { maxLength: 2 }), fc.string({ maxLength: 4 })), Env: fc.array(text("A=b", "=x", ""), { maxLength: 2 }), User: text("0", "nobody", "x:y"), WorkingDir: text("/", "rel", ""), Tty: fc.boolean(), AttachStdout: fc.boolean(), Privileged: fc.boolean() }, { requiredKeys: [] }),
  ).map(([c, body]) => ({ method: "POST", path: `/containers/${encodeURIComponent(c)}/exec`, body })),
  fc.tuple(text("nope", "0".repeat(64)), opt(int)).map(([id, h]) => ({ method: "POST", path: `/exec/${encodeURIComponent(id)}/resize${q({ h, w: h })}` })),
  text("nope", "0".repeat(64)).map((id) => ({ method: "GET", path: `/exec/${encodeURIComponent(id)}/json` })),
  // Fixtures are never the target of a removal: the other requests need them.
  fc.tuple(text("nope", "gone"), opt(bool), opt(bool)).map(([c, force, v]) => ({ method: "DELETE", path: `/containers/${encodeURIComponent(c)}${q({ force, v })}` })),
  fc.tuple(container(), text("fuzzed", "Fuzzed", "a/b", ""), opt(text("v1", "", "-x")), opt(text("CMD true", "ENV A=b", "BOGUS x", "EXPOSE 80/bogus"))).map(([c, repo, tag, changes]) => ({ method: "POST", path: `/commit${q({ container: c, repo, tag, changes })}` })),
];

const imageRequests: Array<fc.Arbitrary<Request>> = [
  fc.record({ all: opt(bool), filters: opt(filters), digests: opt(bool) }).map((p) => ({ method: "GET", path: `/images/json${q(p)}` })),
  fc.tuple(text("busybox", "busybox:latest", "nope:1", "sha256:" + "0".repeat(64), "BusyBox"), fc.constantFrom("json", "history")).map(([n, what]) => ({ method: "GET", path: `/images/${encodeURIComponent(n)}/${what}` })),
  fc.tuple(text("busybox", "nope"), text("fuzzed/tagged", "UPPER", "", "a:b"), opt(text("t1", "", "-bad", "a".repeat(200)))).map(([n, repo, tag]) => ({ method: "POST", path: `/images/${encodeURIComponent(n)}/tag${q({ repo, tag })}` })),
  fc.tuple(text("nope", "fuzzed/tagged:t1", "sha256:" + "0".repeat(64)), opt(bool), opt(bool)).map(([n, force, noprune]) => ({ method: "DELETE", path: `/images/${encodeURIComponent(n)}${q({ force, noprune })}` })),
];

const network = text("fxnet", "bridge", "host", "none", "nope");
const subnet = text("10.251.7.0/24", "10.251.8.0/28", "10.251.9.0/33", "10.251.10.0", "fd00:1::/64", "x");
const networkRequests: Array<fc.Arbitrary<Request>> = [
  fc.record({ filters: opt(filters) }).map((p) => ({ method: "GET", path: `/networks${q(p)}` })),
  network.map((n) => ({ method: "GET", path: `/networks/${encodeURIComponent(n)}` })),
  fc.record(
    {
      Name: text("fuzznet", "", "bridge", "a".repeat(80), "bad name"),
      Driver: text("bridge", "", "host", "overlay", "macvlan", "null"),
      Internal: fc.boolean(),
      CheckDuplicate: fc.boolean(),
      IPAM: fc.record({ Driver: text("default", "bogus"), Config: fc.array(fc.record({ Subnet: subnet, Gateway: text("10.251.7.1", "10.251.99.1", "x"), IPRange: text("10.251.7.128/25", "10.251.66.0/24", "y") }, { requiredKeys: [] }), { maxLength: 2 }) }, { requiredKeys: [] }),
      Options: fc.dictionary(text("com.docker.network.bridge.name", "com.docker.network.driver.mtu", "bogus"), text("wfz0", "", "a".repeat(20), "1500", "-1", "bad name"), { maxKeys: 2 }),
      Labels: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 1 }),
    },
    { requiredKeys: [] },
  ).map((body) => ({ method: "POST", path: "/networks/create", body })),
  fc.tuple(network, fc.constantFrom("connect", "disconnect"), container(), fc.record({ Aliases: fc.array(text("al", "", "-x"), { maxLength: 1 }), IPAMConfig: fc.record({ IPv4Address: text("10.251.1.5", "x", "") }, { requiredKeys: [] }) }, { requiredKeys: [] }), fc.boolean()).map(
    ([n, op, c, endpoint, force]) => ({ method: "POST", path: `/networks/${encodeURIComponent(n)}/${op}`, body: op === "connect" ? { Container: c, EndpointConfig: endpoint } : { Container: c, Force: force } }),
  ),
  text("bridge", "host", "none", "nope").map((n) => ({ method: "DELETE", path: `/networks/${encodeURIComponent(n)}` })),
];

const volumeRequests: Array<fc.Arbitrary<Request>> = [
  fc.record({ filters: opt(filters) }).map((p) => ({ method: "GET", path: `/volumes${q(p)}` })),
  text("fxvol", "nope").map((n) => ({ method: "GET", path: `/volumes/${encodeURIComponent(n)}` })),
  fc.record(
    {
      Name: text("fuzzvol", "", "-bad", "a/b", "fxvol"),
      Driver: text("local", "", "bogus"),
      DriverOpts: fc.dictionary(text("type", "device", "o", "size", "bogus"), text("tmpfs", "none", "size=1m", "bind", "/nonexistent", "nfs", "addr=127.0.0.1"), { maxKeys: 3 }),
      Labels: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 1 }),
    },
    { requiredKeys: [] },
  ).map((body) => ({ method: "POST", path: "/volumes/create", body })),
  fc.tuple(text("nope", "fuzzvol"), opt(bool)).map(([n, force]) => ({ method: "DELETE", path: `/volumes/${encodeURIComponent(n)}${q({ force })}` })),
];

const systemRequests: Array<fc.Arbitrary<Request>> = [
  fc.tuple(opt(text("1700000000", "0", "-1", "x", "2026-01-01T00:00:00Z", "10m")), fc.constantFrom("0", "1700000000", "x", "-5", "2025-06-01T00:00:00Z"), opt(filters)).map(([since, until, f]) => ({ method: "GET", path: `/events${q({ since, until, filters: f })}` })),
  fc.tuple(fc.constantFrom("containers", "networks", "volumes", "build"), fc.constantFrom(undefined, '{"label":["fuzz-never"]}', '{"until":["x"]}', '{"label!":["a"]}', '{"bogus":["1"]}', "{")).map(([what, f]) => ({
    method: "POST",
    path: what === "build" ? `/build/prune${q({ filters: f })}` : `/${what}/prune${q({ filters: f })}`,
  })),
  opt(text("container", "image", "volume", "build-cache", "bogus")).map((type) => ({ method: "GET", path: `/system/df${q({ type })}` })),
  fc.constantFrom("/info", "/version", "/_ping", "/v1.12/version", "/v9.99/info", "/nope").map((p) => ({ method: "GET", path: p })),
];

const anyRequest = fc.oneof(...containerRequests, ...imageRequests, ...networkRequests, ...volumeRequests, ...systemRequests);

describe("the Engine API with fuzzed requests", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  const ensureFixtures = async (): Promise<void> => {
    const api = d.api.bind(d);
    if ((await api("GET", "/containers/fx/json")).status === 404) {
      assert.equal((await api("POST", "/containers/create?name=fx", { Image: "busybox", Cmd: ["sleep", "600"], Labels: { fuzz: "1" } })).status, 201);
    }
    await api("POST", "/containers/fx/start");
    if ((await api("GET", "/containers/fx-created/json")).status === 404) {
      assert.equal((await api("POST", "/containers/create?name=fx-created", { Image: "busybox", Cmd: ["true"] })).status, 201);
    }
    if ((await api("GET", "/networks/fxnet")).status === 404) assert.equal((await api("POST", "/networks/create", { Name: "fxnet" })).status, 201);
    await api("POST", "/volumes/create", { Name: "fxvol" });
  };
  before(async () => ensureFixtures());

  test("every request gets a success or a Docker-shaped 4xx, never a 500, and the daemon stays up", async () => {
    const statuses = new Map<number, number>();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(anyRequest, async (r) => {
        if (++sent % 25 === 0) await ensureFixtures();
        const res = await d.api(r.method, r.path, r.body);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(res.status < 500, `${r.method} ${r.path} ${JSON.stringify(r.body) ?? ""} → ${res.status}: ${res.body.slice(0, 300)}`);
        if (res.status >= 400 && r.method !== "HEAD") {
          const message = (JSON.parse(res.body) as { message?: unknown }).message;
          assert.ok(typeof message === "string" && message.length > 0, `no message: ${r.method} ${r.path} → ${res.body}`);
        }
      }),
      fuzzParams(400),
    );
    assert.equal((await d.api("GET", "/_ping")).status, 200);
    // a run that never got past validation, or never failed it, would prove little
    const ok = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    const refused = [...statuses].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    assert.ok(ok > 0 && refused > 0, JSON.stringify([...statuses]));
  });

  test("what the fuzzing made is removable, and nothing of it is left on the host", async () => {
    for (const c of (await d.api("GET", "/containers/json?all=1")).json<Array<{ Id: string }>>()) {
      assert.equal((await d.api("DELETE", `/containers/${c.Id}?force=1&v=1`)).status, 204);
    }
    for (const n of (await d.api("GET", "/networks")).json<Array<{ Name: string }>>()) {
      if (!["bridge", "host", "none"].includes(n.Name)) assert.equal((await d.api("DELETE", `/networks/${encodeURIComponent(n.Name)}`)).status, 204);
    }
    for (const v of (await d.api("GET", "/volumes")).json<{ Volumes: Array<{ Name: string }> }>().Volumes) {
      assert.equal((await d.api("DELETE", `/volumes/${encodeURIComponent(v.Name)}`)).status, 204);
    }
  });
});
