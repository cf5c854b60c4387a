import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fetchLocal, freePort } from "../helpers/net";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

/** The real docker CLI against wharfd: the default bridge network and published ports. */


describe("docker CLI: bridge network and published ports", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  test("docker run -d -p PORT:80 busybox httpd serves a page on 127.0.0.1; docker port and inspect agree", async () => {
    const port = await freePort();
    const run = await d.docker(["run", "-d", "--name", "web", "-p", `${port}:80`, "busybox", "sh", "-c", "mkdir /www && echo seed > /www/index.html && exec httpd -f -p 80 -h /www"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await fetchLocal(port)).trim(), "seed");
    const p = await d.docker(["port", "web"]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout, `80/tcp -> 0.0.0.0:${port}\n`);
    const ip = await d.docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}} {{.HostConfig.NetworkMode}}", "web"]);
    const [addr, gw, mode] = ip.stdout.trim().split(" ");
    assert.ok(addr.startsWith(d.subnet.replace(/0\/24$/, "")), addr);
    assert.equal(gw, d.gateway);
    assert.equal(mode, "bridge");
    const ps = await d.docker(["ps", "--format", "{{.Ports}}"]);
    assert.equal(ps.stdout.trim(), `0.0.0.0:${port}->80/tcp`);
    const clash = await d.docker(["run", "-d", "--name", "web2", "-p", `${port}:80`, "busybox", "true"]);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /port is already allocated/);
    assert.equal((await d.docker(["rm", "-f", "web", "web2"])).code, 0);
  });

  test("docker network create/ls/inspect/connect/disconnect/rm; containers find each other by name", async () => {
    const [a, b, c] = d.subnet.split(".");
    const subnet = `${a}.${b}.${Number(c) ^ 128}.64/27`;
    const create = await d.docker(["network", "create", "--subnet", subnet, "-o", `com.docker.network.bridge.name=${d.bridge}n`, "dnet"]);
    assert.equal(create.code, 0, create.stderr);
    const ls = await d.docker(["network", "ls", "--format", "{{.Name}}"]);
    assert.deepEqual(ls.stdout.trim().split("\n").sort(), ["bridge", "dnet", "host", "none"]);
    const sub = await d.docker(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "dnet"]);
    assert.equal(sub.stdout.trim(), subnet);
    assert.equal((await d.docker(["run", "-d", "--name", "server", "--network", "dnet", "busybox", "sleep", "300"])).code, 0);
    const ping = await d.docker(["run", "--rm", "--network", "dnet", "busybox", "ping", "-c", "1", "-W", "3", "server"]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.equal((await d.docker(["run", "-d", "--name", "other", "busybox", "sleep", "300"])).code, 0);
    const conn = await d.docker(["network", "connect", "--alias", "client", "dnet", "other"]);
    assert.equal(conn.code, 0, conn.stderr);
    const byAlias = await d.docker(["run", "--rm", "--network", "dnet", "busybox", "ping", "-c", "1", "-W", "3", "client"]);
    assert.equal(byAlias.code, 0, byAlias.stdout + byAlias.stderr);
    assert.equal((await d.docker(["network", "disconnect", "dnet", "other"])).code, 0);
    const busy = await d.docker(["network", "rm", "dnet"]);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /has active endpoints/);
    assert.equal((await d.docker(["rm", "-f", "server", "other"])).code, 0);
    const rm = await d.docker(["network", "rm", "dnet"]);
    assert.equal(rm.code, 0, rm.stderr);
  });

  test("docker run --network container:X sees X's address", async () => {
    const x = await d.docker(["run", "-d", "--name", "netx", "busybox", "sleep", "300"]);
    assert.equal(x.code, 0, x.stderr);
    const addr = (await d.docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "netx"])).stdout.trim();
    const joined = await d.docker(["run", "--rm", "--network", "container:netx", "busybox", "ip", "-o", "-4", "addr", "show", "eth0"]);
    assert.equal(joined.code, 0, joined.stderr);
    assert.ok(joined.stdout.includes(`inet ${addr}/`), joined.stdout);
    assert.equal((await d.docker(["rm", "-f", "netx"])).code, 0);
  });
});
