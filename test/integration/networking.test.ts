import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import { fetchLocal, freePort } from "../helpers/net";
import { type TestDaemon, ensureBusybox, startDaemon } from "../helpers/daemon";

/** Interfaces enslaved to this daemon's bridge (the host ends of container veths). */
function vethsOn(bridge: string): string[] {
  const out = spawnSync("ip", ["-o", "link", "show", "master", bridge], { encoding: "utf8" }).stdout;
  return out.split("\n").filter(Boolean);
}

function iptablesMentioning(fragment: string): string[] {
  const rules: string[] = [];
  for (const table of ["filter", "nat"]) {
    const out = spawnSync("iptables-save", ["-t", table], { encoding: "utf8" }).stdout;
    rules.push(...out.split("\n").filter((l) => l.includes(fragment)));
  }
  return rules;
}


const HTTPD = ["sh", "-c", "mkdir -p /www && echo hello-from-wharf > /www/index.html && exec httpd -f -p 80 -h /www"];

interface Inspect {
  HostConfig: { NetworkMode: string; PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> };
  NetworkSettings: {
    IPAddress: string;
    Gateway: string;
    IPPrefixLen: number;
    MacAddress: string;
    SandboxKey: string;
    Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    Networks: Record<string, { IPAddress: string; Gateway: string; NetworkID: string; MacAddress: string; EndpointID: string }>;
  };
}

describe("networking: the default bridge network, published ports, container: networks", () => {
  let d: TestDaemon;
  const prefix = (): string => d.subnet.split(".").slice(0, 3).join(".") + ".";
  before(async () => {
    d = await startDaemon();
    await ensureBusybox(d);
  });
  after(async () => {
    await d?.stop();
  });

  test("without --network a container joins the bridge network: eth0 with an address, a default route, /etc/hosts", async () => {
    const r = await d.wharf(["run", "--rm", "--hostname", "box", "--add-host", "gw:host-gateway", "busybox", "sh", "-c", "ip -o -4 addr show eth0; ip route; cat /etc/hosts; ip -o link show lo"]);
    assert.equal(r.code, 0, r.stderr);
    const addr = new RegExp(`inet (${prefix().replace(/\./g, "\\.")}\\d+)/24`).exec(r.stdout);
    assert.ok(addr, r.stdout);
    assert.match(r.stdout, new RegExp(`default via ${d.gateway.replace(/\./g, "\\.")} dev eth0`));
    assert.match(r.stdout, new RegExp(`${addr[1].replace(/\./g, "\\.")}\\tbox`));
    assert.match(r.stdout, /lo: <LOOPBACK,UP/);
    assert.ok(r.stdout.includes(`${d.gateway}\tgw\n`), r.stdout);
    assert.deepEqual(vethsOn(d.bridge), [], "the --rm container's veth is gone");
  });

  test("inspect and ps show NetworkSettings as Docker does; the container reaches the host and another container", async () => {
    const a = await d.wharf(["run", "-d", "--name", "net-a", "busybox", "sleep", "300"]);
    assert.equal(a.code, 0, a.stderr);
    const b = await d.wharf(["run", "-d", "--name", "net-b", "--network", "bridge", "busybox", "sleep", "300"]);
    assert.equal(b.code, 0, b.stderr);
    const ia = (await d.api("GET", "/containers/net-a/json")).json<Inspect>();
    const ib = (await d.api("GET", "/containers/net-b/json")).json<Inspect>();
    assert.equal(ia.HostConfig.NetworkMode, "bridge");
    assert.ok(ia.NetworkSettings.IPAddress.startsWith(prefix()), ia.NetworkSettings.IPAddress);
    assert.equal(ia.NetworkSettings.Gateway, d.gateway);
    assert.equal(ia.NetworkSettings.IPPrefixLen, 24);
    assert.match(ia.NetworkSettings.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(ia.NetworkSettings.Networks.bridge.IPAddress, ia.NetworkSettings.IPAddress);
    assert.ok(ia.NetworkSettings.Networks.bridge.NetworkID.length === 64);
    assert.notEqual(ia.NetworkSettings.IPAddress, ib.NetworkSettings.IPAddress);
    const list = (await d.api("GET", "/containers/json")).json<Array<{ Names: string[]; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }>>();
    const row = list.find((c) => c.Names[0] === "/net-a");
    assert.equal(row?.NetworkSettings.Networks.bridge.IPAddress, ia.NetworkSettings.IPAddress);

    assert.equal(vethsOn(d.bridge).length, 2);
    // (no `exec` yet: a third container does the pinging)
    const ping = await d.wharf(["run", "--rm", "busybox", "sh", "-c", `ping -c 1 -W 3 ${d.gateway} && ping -c 1 -W 3 ${ib.NetworkSettings.IPAddress}`]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);

    const rm = await d.wharf(["rm", "-f", "net-a", "net-b"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(vethsOn(d.bridge), []);
    assert.deepEqual(iptablesMentioning(prefix()), []);
  });

  test("a stopped container shows no address; --network none has only lo", async () => {
    const r = await d.wharf(["run", "--name", "net-stopped", "busybox", "true"]);
    assert.equal(r.code, 0, r.stderr);
    const i = (await d.api("GET", "/containers/net-stopped/json")).json<Inspect>();
    assert.equal(i.NetworkSettings.IPAddress, "");
    assert.deepEqual(i.NetworkSettings.Ports, {});
    assert.equal((await d.wharf(["rm", "net-stopped"])).code, 0);
    const none = await d.wharf(["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout.trim(), "lo");
  });

  test("a missing network is Docker's 404 and creates nothing", async () => {
    const r = await d.api("POST", "/containers/create", { Image: "busybox", HostConfig: { NetworkMode: "nosuchnet" } });
    assert.equal(r.status, 404);
    assert.equal(r.json<{ message: string }>().message, "network nosuchnet not found");
  });

  test("-p HOST:CPORT: the seed example's httpd page is fetched on 127.0.0.1; port and inspect show the binding", async () => {
    const port = await freePort();
    const r = await d.wharf(["run", "-d", "--name", "web", "-p", `${port}:80`, "busybox", ...HTTPD]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await fetchLocal(port)).trim(), "hello-from-wharf");
    const i = (await d.api("GET", "/containers/web/json")).json<Inspect>();
    assert.deepEqual(i.HostConfig.PortBindings, { "80/tcp": [{ HostIp: "", HostPort: String(port) }] });
    assert.deepEqual(i.NetworkSettings.Ports, { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: String(port) }] });
    const p = await d.wharf(["port", "web"]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout, `80/tcp -> 0.0.0.0:${port}\n`);
    const ps = await d.wharf(["ps", "--format", "{{.Ports}}", "--filter", "name=web"]);
    assert.equal(ps.stdout.trim(), `0.0.0.0:${port}->80/tcp`);

    // The same host port again: Docker's error, and the second container is left with nothing.
    const clash = await d.wharf(["run", "-d", "--name", "web2", "-p", `${port}:80`, "busybox", ...HTTPD]);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    assert.equal(vethsOn(d.bridge).length, 1);
    assert.equal((await d.wharf(["rm", "-f", "web", "web2"])).code, 0);
    assert.deepEqual(vethsOn(d.bridge), []);
    assert.deepEqual(iptablesMentioning(prefix()), []);
  });

  test("-p IP:HOST:CPORT on 127.0.0.1, -p CPORT (a free port), /udp, ranges, -P; a port held by a host process", async () => {
    const port = await freePort();
    const r = await d.wharf(["run", "-d", "--name", "web-lo", "-p", `127.0.0.1:${port}:80`, "-p", "80", "-p", "5353:53/udp", "--expose", "7000", "-P", "busybox", ...HTTPD]);
    // 5353/udp may be taken on some hosts; the test only needs the other forms to work.
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await fetchLocal(port)).trim(), "hello-from-wharf");
    const i = (await d.api("GET", "/containers/web-lo/json")).json<Inspect>();
    const web = i.NetworkSettings.Ports["80/tcp"] ?? [];
    assert.equal(web.length, 2);
    assert.deepEqual(web[0], { HostIp: "127.0.0.1", HostPort: String(port) });
    const chosen = Number(web[1].HostPort);
    assert.ok(chosen > 0 && chosen !== port);
    assert.equal((await fetchLocal(chosen)).trim(), "hello-from-wharf");
    assert.deepEqual(i.NetworkSettings.Ports["53/udp"], [{ HostIp: "0.0.0.0", HostPort: "5353" }]);
    assert.equal(i.NetworkSettings.Ports["7000/tcp"]?.length, 1, "-P publishes --expose'd ports");
    const one = await d.wharf(["port", "web-lo", "53/udp"]);
    assert.equal(one.stdout, "0.0.0.0:5353\n");
    assert.equal((await d.wharf(["rm", "-f", "web-lo"])).code, 0);

    // A range: the first free port of it is used.
    const range = await d.wharf(["run", "-d", "--name", "web-range", "-p", `${port}-${port + 1}:80`, "busybox", ...HTTPD]);
    assert.equal(range.code, 0, range.stderr);
    assert.equal((await fetchLocal(port)).trim(), "hello-from-wharf");
    assert.equal((await d.wharf(["rm", "-f", "web-range"])).code, 0);

    // A host process holds the port: a clear error, and nothing half-made.
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, "0.0.0.0", resolve));
    try {
      const busy = await d.wharf(["run", "-d", "--name", "web-busy", "-p", `${port}:80`, "busybox", ...HTTPD]);
      assert.notEqual(busy.code, 0);
      assert.match(busy.stderr, /address already in use/);
      assert.deepEqual(vethsOn(d.bridge), []);
      assert.deepEqual(iptablesMentioning(prefix()), []);
      const state = (await d.api("GET", "/containers/web-busy/json")).json<{ State: { Running: boolean } }>();
      assert.equal(state.State.Running, false);
    } finally {
      holder.close();
      await d.wharf(["rm", "-f", "web-busy"]);
    }
  });

  test("bad port specs are 400s", async () => {
    const r = await d.api("POST", "/containers/create", { Image: "busybox", HostConfig: { PortBindings: { "abc/tcp": [{ HostPort: "80" }] } } });
    assert.equal(r.status, 400);
    assert.match(r.json<{ message: string }>().message, /invalid port specification/);
    const cli = await d.wharf(["run", "--rm", "-p", "70000:80", "busybox", "true"]);
    assert.notEqual(cli.code, 0);
  });

  test("--network container:X shares X's namespace; published ports survive a daemon restart", async () => {
    const port = await freePort();
    const x = await d.wharf(["run", "-d", "--name", "net-x", "-p", `${port}:80`, "busybox", ...HTTPD]);
    assert.equal(x.code, 0, x.stderr);
    const ix = (await d.api("GET", "/containers/net-x/json")).json<Inspect>();
    const joined = await d.wharf(["run", "--rm", "--network", "container:net-x", "busybox", "sh", "-c", "ip -o -4 addr show eth0; wget -qO- http://127.0.0.1:80/"]);
    assert.equal(joined.code, 0, joined.stderr);
    assert.ok(joined.stdout.includes(`inet ${ix.NetworkSettings.IPAddress}/24`), joined.stdout);
    assert.match(joined.stdout, /hello-from-wharf/);

    await d.crashAndRestart();
    assert.equal((await fetchLocal(port)).trim(), "hello-from-wharf");
    const after = (await d.api("GET", "/containers/net-x/json")).json<Inspect>();
    assert.equal(after.NetworkSettings.IPAddress, ix.NetworkSettings.IPAddress);

    const stopped = await d.wharf(["create", "--name", "net-y", "busybox", "true"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const bad = await d.wharf(["run", "--rm", "--network", "container:net-y", "busybox", "true"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /cannot join network of a non running container/);
    assert.equal((await d.wharf(["rm", "-f", "net-x", "net-y"])).code, 0);
    assert.deepEqual(vethsOn(d.bridge), []);
    assert.deepEqual(iptablesMentioning(prefix()), []);
  });
});
