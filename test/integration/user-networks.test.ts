import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, ensureBusybox, startDaemon } from "../helpers/daemon";

function linkExists(name: string): boolean {
  return spawnSync("ip", ["link", "show", name], { stdio: "ignore" }).status === 0;
}

interface NetworkInspect {
  Name: string;
  Id: string;
  Driver: string;
  Internal: boolean;
  Labels: Record<string, string>;
  IPAM: { Config: Array<{ Subnet: string; Gateway: string }> };
  Containers: Record<string, { Name: string; IPv4Address: string }>;
}

describe("user-defined networks: create, ls, inspect, rm, prune, connect, disconnect", () => {
  let d: TestDaemon;
  let pool: string; // this daemon's address pool for user networks, "10.a.b"
  const bridgeName = `wt${Math.random().toString(16).slice(2, 8)}u`;
  before(async () => {
    d = await startDaemon();
    await ensureBusybox(d);
    const [a, b, c] = d.subnet.split(".");
    pool = `${a}.${b}.${Number(c) ^ 128}`;
  });
  after(async () => {
    await d?.stop();
  });

  test("create with --subnet/--gateway/--label/-o; ls, filters, -q and inspect show it; bad input is refused", async () => {
    const created = await d.wharf(["network", "create", "--subnet", `${pool}.192/26`, "--gateway", `${pool}.254`, "--label", "tier=test", "-o", `com.docker.network.bridge.name=${bridgeName}`, "appnet"]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
    const ls = await d.wharf(["network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"]);
    assert.deepEqual(ls.stdout.trim().split("\n").sort(), ["appnet bridge local", "bridge bridge local", "host host local", "none null local"]);
    const filtered = await d.wharf(["network", "ls", "-q", "--filter", "label=tier=test"]);
    assert.equal(filtered.stdout, `${created.stdout.slice(0, 12)}\n`);
    const table = await d.wharf(["network", "ls"]);
    assert.match(table.stdout, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\n/);
    const inspect = (await d.api("GET", "/networks/appnet")).json<NetworkInspect>();
    assert.deepEqual(inspect.IPAM.Config, [{ Subnet: `${pool}.192/26`, Gateway: `${pool}.254` }]);
    assert.equal(inspect.Labels.tier, "test");
    const cli = await d.wharf(["network", "inspect", "-f", "{{.Name}} {{.Driver}}", "appnet"]);
    assert.equal(cli.stdout, "appnet bridge\n");

    const dup = await d.wharf(["network", "create", "appnet"]);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /network with name appnet already exists/);
    const overlap = await d.api("POST", "/networks/create", { Name: "overlap", IPAM: { Config: [{ Subnet: `${pool}.200/29` }] } });
    assert.equal(overlap.status, 403);
    assert.match(overlap.json<{ message: string }>().message, /overlaps/);
    const badGw = await d.api("POST", "/networks/create", { Name: "badgw", IPAM: { Config: [{ Subnet: `${pool}.128/28`, Gateway: "192.0.2.1" }] } });
    assert.equal(badGw.status, 400);
    assert.match(badGw.json<{ message: string }>().message, /not within subnet/);
    const missing = await d.wharf(["network", "inspect", "nosuchnet"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /network nosuchnet not found/);
    const names = (await d.api("GET", "/networks")).json<NetworkInspect[]>().map((n) => n.Name).sort();
    assert.deepEqual(names, ["appnet", "bridge", "host", "none"], "nothing half-made");
  });

  test("containers on a user network reach each other; inspect lists them; rm refuses while in use", async () => {
    const u1 = await d.wharf(["run", "-d", "--name", "u1", "--network", "appnet", "busybox", "sleep", "300"]);
    assert.equal(u1.code, 0, u1.stderr);
    const ip = (await d.wharf(["inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "u1"])).stdout.trim();
    assert.ok(ip.startsWith(`${pool}.`), ip);
    const ping = await d.wharf(["run", "--rm", "--network", "appnet", "busybox", "ping", "-c", "1", "-W", "3", ip]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const inspect = (await d.api("GET", "/networks/appnet")).json<NetworkInspect>();
    assert.deepEqual(Object.values(inspect.Containers).map((c) => [c.Name, c.IPv4Address]), [["u1", `${ip}/26`]]);
    const rm = await d.wharf(["network", "rm", "appnet"]);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /has active endpoints/);
  });

  test("names resolve on a user network (container name, --network-alias, short id) through the embedded DNS; --ip at run", async () => {
    const u4 = await d.wharf(["run", "-d", "--name", "u4", "--network", "appnet", "--network-alias", "db", "--ip", `${pool}.230`, "busybox", "sleep", "300"]);
    assert.equal(u4.code, 0, u4.stderr);
    const u1ip = (await d.wharf(["inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "u1"])).stdout.trim();
    const u1id = (await d.wharf(["inspect", "-f", "{{.Id}}", "u1"])).stdout.trim().slice(0, 12);
    const u4ip = (await d.wharf(["inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "u4"])).stdout.trim();
    assert.equal(u4ip, `${pool}.230`);
    const r = await d.wharf(["run", "--rm", "--network", "appnet", "busybox", "sh", "-c", `cat /etc/resolv.conf; nslookup u1; nslookup db; nslookup ${u1id}; ping -c 1 -W 3 u4`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`nameserver ${pool.replace(/\./g, "\.")}\.254`));
    assert.equal(r.stdout.split(`Address: ${u1ip}`).length - 1, 2, r.stdout);
    assert.ok(r.stdout.includes(`Address: ${u4ip}`), r.stdout);
    // The default bridge has no name resolution (its resolver here is a dead one: no traffic leaves).
    const plain = await d.wharf(["run", "--rm", "--dns", "127.0.0.1", "busybox", "sh", "-c", "cat /etc/resolv.conf; timeout 5 nslookup u1"]);
    assert.notEqual(plain.code, 0, plain.stdout);
    assert.equal((await d.wharf(["rm", "-f", "u4"])).code, 0);
  });

  test("connect and disconnect a running container; --ip picks the address", async () => {
    const u2 = await d.wharf(["run", "-d", "--name", "u2", "busybox", "sleep", "300"]);
    assert.equal(u2.code, 0, u2.stderr);
    const conn = await d.wharf(["network", "connect", "--ip", `${pool}.222`, "appnet", "u2"]);
    assert.equal(conn.code, 0, conn.stderr);
    const ifaces = await d.wharf(["run", "--rm", "--network", "container:u2", "busybox", "ip", "-o", "-4", "addr"]);
    assert.match(ifaces.stdout, new RegExp(`eth1\\s+inet ${pool.replace(/\./g, "\\.")}\\.222/26`));
    const nets = (await d.wharf(["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}", "u2"])).stdout.trim();
    assert.match(nets, new RegExp(`appnet=${pool.replace(/\./g, "\\.")}\\.222`));
    const ping = await d.wharf(["run", "--rm", "--network", "appnet", "busybox", "ping", "-c", "1", "-W", "3", `${pool}.222`]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const hostsPath = (await d.api("GET", "/containers/u2/json")).json<{ HostsPath: string }>().HostsPath;
    assert.match(fs.readFileSync(hostsPath, "utf8"), new RegExp(`${pool.replace(/\./g, "\\.")}\\.222\t`), "connect adds the new address to /etc/hosts");
    const disc = await d.wharf(["network", "disconnect", "appnet", "u2"]);
    assert.equal(disc.code, 0, disc.stderr);
    const after = await d.wharf(["run", "--rm", "--network", "container:u2", "busybox", "ip", "-o", "-4", "addr"]);
    assert.doesNotMatch(after.stdout, /eth1/);
    assert.ok(!fs.readFileSync(hostsPath, "utf8").includes(`${pool}.222`), "disconnect removes it");
    assert.equal((await d.wharf(["rm", "-f", "u1", "u2"])).code, 0);
  });

  test("connect a stopped container: it joins at start and stays connected across restarts; disconnect while stopped", async () => {
    const created = await d.wharf(["create", "--name", "u4", "busybox", "sleep", "300"]);
    assert.equal(created.code, 0, created.stderr);
    const conn = await d.wharf(["network", "connect", "--alias", "four", "appnet", "u4"]);
    assert.equal(conn.code, 0, conn.stderr);
    const planned = await d.wharf(["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "u4"]);
    assert.match(planned.stdout, /appnet/, "inspect shows the network it will join");
    const again = await d.wharf(["network", "connect", "appnet", "u4"]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already exists in network appnet/);
    const ifaces = async (): Promise<string> => (await d.wharf(["exec", "u4", "ip", "-o", "-4", "addr"])).stdout;
    assert.equal((await d.wharf(["start", "u4"])).code, 0);
    assert.match(await ifaces(), new RegExp(`eth1\\s+inet ${pool.replace(/\./g, "\\.")}\\.`));
    const byAlias = await d.wharf(["run", "--rm", "--network", "appnet", "busybox", "nslookup", "four"]);
    assert.equal(byAlias.code, 0, byAlias.stdout + byAlias.stderr);
    assert.equal((await d.wharf(["restart", "-t", "0", "u4"])).code, 0);
    assert.match(await ifaces(), /eth1/, "the connection outlives a restart");
    assert.equal((await d.wharf(["stop", "-t", "0", "u4"])).code, 0);
    const disc = await d.wharf(["network", "disconnect", "appnet", "u4"]);
    assert.equal(disc.code, 0, disc.stderr);
    assert.equal((await d.wharf(["start", "u4"])).code, 0);
    assert.doesNotMatch(await ifaces(), /eth1/);
    const host = await d.wharf(["network", "connect", "host", "u4"]);
    assert.notEqual(host.code, 0);
    assert.match(host.stderr, /cannot be disconnected from host network or connected to host network/);
    assert.equal((await d.wharf(["rm", "-f", "u4"])).code, 0);
  });

  test("an ADD whose result was never recorded (a daemon killed mid-start) still has its firewall rules removed", async () => {
    assert.equal((await d.wharf(["network", "create", "cutnet"])).code, 0);
    assert.equal((await d.wharf(["run", "-d", "--name", "cut", "--network", "cutnet", "busybox", "sleep", "300"])).code, 0);
    const id = (await d.wharf(["inspect", "-f", "{{.Id}}", "cut"])).stdout.trim();
    const ip = (await d.wharf(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "cut"])).stdout.trim();
    const rules = (): string[] => spawnSync("iptables-save", { encoding: "utf8" }).stdout.split("\n").filter((l) => l.includes(`${ip}/32`));
    assert.ok(rules().length > 0, "the firewall plugin made rules for the address");
    // What a kill -9 between CNI ADD and writing its result leaves: an entry without a result.
    const file = `${d.dataRoot}/networks/attachments/${id}.json`;
    const attachment = JSON.parse(fs.readFileSync(file, "utf8")) as { entries: Array<{ result?: unknown }> };
    for (const entry of attachment.entries) delete entry.result;
    fs.writeFileSync(file, JSON.stringify(attachment));
    assert.equal((await d.wharf(["rm", "-f", "cut"])).code, 0);
    assert.deepEqual(rules(), [], "no rule for the address is left");
    assert.equal((await d.wharf(["network", "rm", "cutnet"])).code, 0);
  });

  test("rm removes the network and its bridge; prune removes unused networks only", async () => {
    assert.ok(linkExists(bridgeName));
    const rm = await d.wharf(["network", "rm", "appnet"]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout, "appnet\n");
    assert.equal(linkExists(bridgeName), false);
    const pre = await d.wharf(["network", "rm", "bridge"]);
    assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);

    const auto = await d.wharf(["network", "create", "autonet"]);
    assert.equal(auto.code, 0, auto.stderr);
    const sub = (await d.api("GET", "/networks/autonet")).json<NetworkInspect>().IPAM.Config[0].Subnet;
    assert.equal(sub, `${pool}.0/28`, "from the daemon's --default-address-pool");
    const user = await d.wharf(["run", "-d", "--name", "u3", "--network", "autonet", "busybox", "sleep", "300"]);
    assert.equal(user.code, 0, user.stderr);
    const autoBridge = `br-${auto.stdout.slice(0, 12)}`;
    assert.ok(linkExists(autoBridge));
    const spare = await d.wharf(["network", "create", "sparenet"]);
    assert.equal(spare.code, 0, spare.stderr);
    const prune = await d.wharf(["network", "prune", "-f"]);
    assert.equal(prune.code, 0, prune.stderr);
    assert.equal(prune.stdout, "Deleted Networks:\nsparenet\n");
    assert.equal((await d.wharf(["rm", "-f", "u3"])).code, 0);
    assert.equal((await d.wharf(["network", "rm", "autonet"])).code, 0);
    assert.equal(linkExists(autoBridge), false);
  });
});
