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
    // As in Docker, the joiner takes X's hostname, /etc/hosts and /etc/resolv.conf.
    const files = await d.docker(["run", "--rm", "--network", "container:netx", "busybox", "sh", "-c", "hostname; cat /etc/hosts"]);
    const xHostname = (await d.docker(["inspect", "-f", "{{.Config.Hostname}}", "netx"])).stdout.trim();
    assert.equal(files.stdout.split("\n")[0], xHostname);
    assert.match(files.stdout, new RegExp(`^${addr.replace(/\./g, "\\.")}\\s+${xHostname}$`, "m"));
    const created = await d.docker(["create", "--network", "container:netx", "busybox", "true"]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await d.docker(["start", "-a", created.stdout.trim()])).code, 0);
    const paths = await d.docker(["inspect", "-f", "{{.HostsPath}} {{.ResolvConfPath}}", created.stdout.trim(), "netx"]);
    const [joinerPaths, xPaths] = paths.stdout.trim().split("\n");
    assert.equal(joinerPaths, xPaths);
    assert.equal((await d.docker(["rm", created.stdout.trim()])).code, 0);

    // Options that belong to the joined namespace are Docker's conflicts, and nothing is created.
    const conflicts: Array<[string[], RegExp]> = [
      [["-h", "other"], /conflicting options: hostname and the network mode/],
      [["--dns", "10.0.0.1"], /conflicting options: dns and the network mode/],
      [["--add-host", "a:10.0.0.1"], /conflicting options: custom host-to-IP mapping and the network mode/],
      [["-p", "8080:80"], /conflicting options: port publishing and the container type network mode/],
      [["--expose", "80"], /conflicting options: port exposing and the container type network mode/],
      [["--mac-address", "92:d0:c6:0a:29:33"], /conflicting options: mac-address and the network mode/],
    ];
    for (const [opts, message] of conflicts) {
      const r = await d.docker(["run", "--rm", "--network", "container:netx", ...opts, "busybox", "true"]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, message);
    }
    assert.equal((await d.docker(["ps", "-aq"])).stdout.trim().split("\n").length, 1, "only netx exists");
    assert.equal((await d.docker(["rm", "-f", "netx"])).code, 0);
  });

  test("--mac-address sets eth0's address on the default bridge and a user network; bad ones are refused", async () => {
    const mac = "92:d0:c6:0a:29:33";
    const shown = await d.docker(["run", "--rm", "--mac-address", mac, "busybox", "cat", "/sys/class/net/eth0/address"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout.trim(), mac);
    assert.equal((await d.docker(["network", "create", "macnet"])).code, 0);
    const mac2 = "02:42:ac:11:00:99";
    const run = await d.docker(["run", "-d", "--name", "macbox", "--network", "macnet", "--mac-address", mac2, "busybox", "sleep", "300"]);
    assert.equal(run.code, 0, run.stderr);
    const inspect = await d.docker(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}", "macbox"]);
    assert.equal(inspect.stdout.trim(), mac2);
    const inside = await d.docker(["exec", "macbox", "cat", "/sys/class/net/eth0/address"]);
    assert.equal(inside.stdout.trim(), mac2);
    assert.equal((await d.docker(["rm", "-f", "macbox"])).code, 0);
    assert.equal((await d.docker(["network", "rm", "macnet"])).code, 0);

    const cli = await d.docker(["run", "--rm", "--mac-address", "zz", "busybox", "true"]);
    assert.equal(cli.code, 125);
    assert.match(cli.stderr, /zz is not a valid mac address/);
    const wharf = await d.wharf(["run", "--rm", "--mac-address", "12:34", "busybox", "true"]);
    assert.equal(wharf.code, 125);
    assert.match(wharf.stderr, /12:34 is not a valid mac address/);
    const api = await d.api("POST", "/containers/create", { Image: "busybox", NetworkingConfig: { EndpointsConfig: { bridge: { MacAddress: "nope" } } } });
    assert.equal(api.status, 400);
    assert.equal(api.json<{ message: string }>().message, "invalid MAC address nope");
    assert.equal((await d.docker(["ps", "-aq"])).stdout.trim(), "");
  });
});
