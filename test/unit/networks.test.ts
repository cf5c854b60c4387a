import assert from "node:assert/strict";
import { test } from "node:test";
import { buildNetwork } from "../../src/engine/networks/create-network";
import { formatSubnet, parseCidr, subnetsOverlap } from "../../src/engine/networks/ipv4";
import { portsView, summaryPorts, validatePortBindings, wantedBindings } from "../../src/engine/networks/ports";
import type { NetworkRecord } from "../../src/engine/networks/types";

const POOL = { base: "10.250.0.0/16", size: 24 };

test("CIDR parsing and overlap", () => {
  assert.equal(formatSubnet(parseCidr("10.88.0.1/16").subnet), "10.88.0.0/16");
  assert.ok(subnetsOverlap(parseCidr("10.1.0.0/16").subnet, parseCidr("10.1.2.0/24").subnet));
  assert.ok(!subnetsOverlap(parseCidr("10.1.0.0/24").subnet, parseCidr("10.1.1.0/24").subnet));
  assert.throws(() => parseCidr("10.1.0.0"), /invalid CIDR address/);
  assert.throws(() => parseCidr("300.1.0.0/8"), /invalid CIDR address/);
});

test("port bindings: validation, -P, and Docker's views", () => {
  validatePortBindings({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }], "53/udp": [{ HostPort: "" }], "9000": [{ HostPort: "9000-9005" }] });
  assert.throws(() => validatePortBindings({ "abc/tcp": [] }), /invalid port specification: "abc\/tcp"/);
  assert.throws(() => validatePortBindings({ "80/tcp": [{ HostPort: "70000" }] }), /invalid port specification/);
  assert.throws(() => validatePortBindings({ "80/tcp": [{ HostIp: "nope", HostPort: "1" }] }), /invalid IP address: nope/);
  assert.deepEqual(wantedBindings({}, true, { "80/tcp": {} }), { "80/tcp": [{ HostIp: "", HostPort: "" }] });
  assert.deepEqual(wantedBindings({}, false, { "80/tcp": {} }), {});
  const mappings = [{ hostIP: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" as const }];
  assert.deepEqual(portsView({ "80/tcp": {}, "443/tcp": {} }, mappings), { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "443/tcp": null });
  assert.deepEqual(summaryPorts({ "443/tcp": {} }, mappings), [
    { IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
    { PrivatePort: 443, Type: "tcp" },
  ]);
});

test("network create: subnets from the pool, Docker's errors for bad input", () => {
  const first = buildNetwork({ Name: "a" }, [], POOL);
  assert.deepEqual(first.IPAM.Config, [{ Subnet: "10.250.0.0/24", Gateway: "10.250.0.1" }]);
  assert.equal(first.Options["com.docker.network.bridge.name"], `br-${first.Id.slice(0, 12)}`);
  const existing: NetworkRecord[] = [first];
  assert.equal(buildNetwork({ Name: "b" }, existing, POOL).IPAM.Config[0].Subnet, "10.250.1.0/24");
  assert.throws(() => buildNetwork({ Name: "a" }, existing, POOL), /network with name a already exists/);
  assert.throws(() => buildNetwork({ Name: "c", IPAM: { Config: [{ Subnet: "10.250.0.128/25" }] } }, existing, POOL), /Pool overlaps/);
  assert.throws(() => buildNetwork({ Name: "d", IPAM: { Config: [{ Subnet: "10.9.0.0/16", Gateway: "10.8.0.1" }] } }, existing, POOL), /Gateway 10\.8\.0\.1 is not within subnet 10\.9\.0\.0\/16/);
  assert.throws(() => buildNetwork({ Name: "e", Driver: "overlay" }, existing, POOL), /plugin "overlay" not found/);
  assert.throws(() => buildNetwork({ Name: "bad name" }, existing, POOL), /invalid network name/);
});
