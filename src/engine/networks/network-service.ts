import * as fs from "node:fs/promises";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { ConflictError, ForbiddenError, NotFoundError, errorMessage } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { KeyedLock } from "../../lib/keyed-lock";
import { MS_BIND, native } from "../../lib/native";
import { isNamespacePin, unmountAll } from "../../store/mounts";
import { type CniNetworkList, type CniResult, DEFAULT_CNI_PATH, cniAdd, cniDel } from "./cni";
import { BRIDGE_NAME_OPTION, type CreateNetworkRequest, PREDEFINED, buildNetwork } from "./create-network";
import { formatIPv4, formatSubnet, parseCidr, parseIPv4, subnetContains } from "./ipv4";
import type { EmbeddedDns } from "./dns";
import type { NetworkStore } from "./network-store";
import { type PortBindingsRequest, type PortMapping, allocatePorts } from "./ports";
import type { ContainerNetworkState, EndpointState, NetworkRecord } from "./types";

export interface NetworkServiceDeps {
  dataRoot: string;
  execRoot: string;
  store: NetworkStore;
  /** Name of the default network's bridge interface (dockerd's --bridge). */
  bridgeName: string;
  /** The default bridge's gateway address and subnet, e.g. 10.88.0.1/16 (dockerd's --bip). */
  bip: string;
  /** Where user networks without --subnet get one (dockerd's --default-address-pool). */
  defaultAddressPool: { base: string; size: number };
  cniPath?: string;
  /** Name resolution for user networks (not for the default bridge, as in Docker). */
  dns?: EmbeddedDns;
  /** Rootless mode: forwards published ports from the host into the daemon's network namespace. */
  hostPorts?: { publish(mappings: PortMapping[]): Promise<void>; unpublish(mappings: PortMapping[]): Promise<void> };
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** One network a container joined: what CNI DEL needs later, even after a daemon restart. */
interface AttachmentEntry {
  network: string;
  networkId: string;
  ifName: string;
  list: CniNetworkList;
  runtimeConfig: { portMappings: PortMapping[]; ips?: string[]; mac?: string };
  /** The ADD result; absent while ADD runs (a crash there still gets a DEL). */
  result?: CniResult;
}

interface AttachmentFile {
  netnsPath: string;
  entries: AttachmentEntry[];
}

export interface AttachRequest {
  containerId: string;
  /** Pid of the container's first process, after `runc create` and before `runc start`. */
  pid: number;
  network: string;
  portBindings: PortBindingsRequest;
  /** --ip and --network-alias of `run`. */
  ip?: string;
  aliases?: string[];
  /** --mac-address: set on eth0 by the tuning plugin. */
  mac?: string;
}

/**
 * Networks and container attachment through CNI. The container's network namespace is the
 * one runc creates; it is pinned by a bind mount under the exec root so that CNI DEL at exit
 * still finds the namespace (the bridge plugin only removes its masquerade rules when it can
 * read the addresses from the interface) and so that `--network container:X` has a stable path.
 */
export class NetworkService {
  private readonly lock = new KeyedLock();
  /** Published ports of running containers, by container id. */
  private readonly ports = new Map<string, PortMapping[]>();
  private readonly cniPath: string;

  constructor(private readonly deps: NetworkServiceDeps) {
    this.cniPath = deps.cniPath ?? DEFAULT_CNI_PATH;
  }

  /** Makes sure Docker's predefined networks exist and the default bridge matches the flags. */
  init(): void {
    const { store } = this.deps;
    const { address, subnet } = parseCidr(this.deps.bip);
    const bridge = store.byName("bridge");
    const wanted: NetworkRecord = {
      ...newNetwork("bridge", "bridge"),
      ...(bridge ? { Id: bridge.Id, Created: bridge.Created } : {}),
      IPAM: { Driver: "default", Options: null, Config: [{ Subnet: formatSubnet(subnet), Gateway: formatIPv4(address) }] },
      Options: {
        "com.docker.network.bridge.default_bridge": "true",
        "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
        "com.docker.network.bridge.name": this.deps.bridgeName,
        "com.docker.network.driver.mtu": "1500",
      },
    };
    store.save(wanted);
    if (!store.byName("host")) store.save(newNetwork("host", "host"));
    if (!store.byName("none")) store.save(newNetwork("none", "null"));
  }

  list(): NetworkRecord[] {
    return this.deps.store.all();
  }

  create(req: CreateNetworkRequest): NetworkRecord {
    const record = buildNetwork(req, this.deps.store.all(), this.deps.defaultAddressPool);
    this.deps.store.save(record);
    return record;
  }

  /**
   * Removes a user network. `activeEndpoints` names the containers attached to it now; Docker
   * refuses while there are any. The bridge interface and the IPAM state go with it.
   */
  async remove(nameOrId: string, activeEndpoints: Array<{ name: string; id: string }>): Promise<NetworkRecord> {
    const network = this.resolve(nameOrId);
    if (PREDEFINED.has(network.Name)) throw new ForbiddenError(`${network.Name} is a pre-defined network and cannot be removed`);
    if (activeEndpoints.length) {
      const list = activeEndpoints.map((c) => `name:"${c.name}" id:"${c.id.slice(0, 12)}"`).join(", ");
      throw new ForbiddenError(`error while removing network: network ${network.Name} has active endpoints (${list})`);
    }
    this.deps.store.delete(network.Id);
    this.deps.dns?.close(network.Id);
    const bridge = network.Options[BRIDGE_NAME_OPTION];
    if (bridge) await deleteLink(bridge);
    await fs.rm(path.join(this.deps.dataRoot, "networks", "ipam", network.Name), { recursive: true, force: true });
    return network;
  }

  /** The networks a container's attachment record lists (running containers only). */
  async attachedNetworks(containerId: string): Promise<string[]> {
    return (await this.readAttachment(containerId))?.entries.map((e) => e.networkId) ?? [];
  }

  /**
   * Connects a running container (its namespace pinned at start) to one more network, as
   * eth1, eth2, ...; `ip` asks host-local for a fixed address.
   */
  async connect(containerId: string, nameOrId: string, opts: { ip?: string; aliases?: string[] }): Promise<EndpointState> {
    const network = this.resolve(nameOrId);
    refuseNonBridge(network);
    return this.lock.run(`attach:${containerId}`, async () => {
      const file = await this.readAttachment(containerId);
      if (!file || !isNamespacePin(file.netnsPath)) throw new ConflictError(`container ${containerId} has no network namespace to connect (not running, or --network host/none/container:)`);
      if (file.entries.some((e) => e.networkId === network.Id)) {
        throw new ForbiddenError(`endpoint with name ${containerId.slice(0, 12)} already exists in network ${network.Name}`);
      }
      const used = new Set(file.entries.map((e) => e.ifName));
      let n = 0;
      while (used.has(`eth${n}`)) n++;
      const ips = opts.ip ? [this.fixedAddress(network, opts.ip)] : [];
      const list = this.conflist(network);
      if (ips.length) list.plugins[0] = { ...list.plugins[0], capabilities: { ips: true } };
      const entry: AttachmentEntry = { network: network.Name, networkId: network.Id, ifName: `eth${n}`, list, runtimeConfig: { portMappings: [], ...(ips.length ? { ips } : {}) } };
      file.entries.push(entry);
      await this.writeAttachment(containerId, file);
      try {
        entry.result = await cniAdd(list, { containerId, netnsPath: file.netnsPath, ifName: entry.ifName, runtimeConfig: entry.runtimeConfig }, this.cniPath);
      } catch (err) {
        await cniDel(list, { containerId, netnsPath: file.netnsPath, ifName: entry.ifName, runtimeConfig: entry.runtimeConfig }, undefined, this.cniPath).catch(() => undefined);
        file.entries.pop();
        await this.writeAttachment(containerId, file);
        throw err;
      }
      await this.writeAttachment(containerId, file);
      await this.serveDns(network);
      return { ...endpointFrom(network, entry.result), Aliases: opts.aliases?.length ? opts.aliases : null };
    });
  }

  /** Docker's error for an --ip outside the network's subnet, before anything is changed. */
  checkAddress(nameOrId: string, ip: string): void {
    this.fixedAddress(this.resolve(nameOrId), ip);
  }

  /** "10.1.0.5" -> "10.1.0.5/24" for host-local's `ips`; Docker's error when outside the subnet. */
  private fixedAddress(network: NetworkRecord, ip: string): string {
    refuseNonBridge(network);
    if (network.Name === "bridge") throw new ForbiddenError("user specified IP address is supported on user defined networks only");
    const subnet = parseCidr(network.IPAM.Config[0].Subnet).subnet;
    const addr = parseIPv4(ip);
    if (addr === undefined || !subnetContains(subnet, addr)) throw new ForbiddenError(`invalid address ${ip}: it does not belong to any of this network's subnets`);
    return `${ip}/${subnet.prefixLen}`;
  }

  /** User networks get the embedded DNS on their gateway (the bridge has it once ADD ran). */
  private async serveDns(network: NetworkRecord): Promise<void> {
    const gateway = network.IPAM.Config[0]?.Gateway;
    if (!this.deps.dns || network.Name === "bridge" || !gateway) return;
    await this.deps.dns.listen(network.Id, gateway);
  }

  /** The host's address on the default bridge: what `--add-host NAME:host-gateway` means. */
  hostGateway(): string {
    return this.resolve("bridge").IPAM.Config[0]?.Gateway ?? "";
  }

  /** The address containers on this network use as their resolver, when it has one. */
  dnsServerFor(nameOrId: string): string | undefined {
    const network = this.resolve(nameOrId);
    return this.deps.dns && network.Name !== "bridge" ? network.IPAM.Config[0]?.Gateway : undefined;
  }

  /** CNI DEL of one network of a running container. */
  async disconnect(containerId: string, nameOrId: string): Promise<NetworkRecord> {
    const network = this.resolve(nameOrId);
    await this.lock.run(`attach:${containerId}`, async () => {
      const file = await this.readAttachment(containerId);
      const entry = file?.entries.find((e) => e.networkId === network.Id);
      if (!file || !entry) throw new ForbiddenError(`container ${containerId} is not connected to network ${network.Name}`);
      const pinned = isNamespacePin(file.netnsPath);
      await cniDel(entry.list, { containerId, netnsPath: pinned ? file.netnsPath : "", ifName: entry.ifName, runtimeConfig: entry.runtimeConfig }, entry.result, this.cniPath);
      file.entries = file.entries.filter((e) => e !== entry);
      await this.writeAttachment(containerId, file);
      this.ports.set(containerId, file.entries.flatMap((e) => e.runtimeConfig.portMappings));
    });
    return network;
  }

  /** By name, full id or unique id prefix, as Docker resolves networks. */
  resolve(nameOrId: string): NetworkRecord {
    const { store } = this.deps;
    const found = store.byName(nameOrId) ?? store.get(nameOrId) ?? uniquePrefix(store.all(), nameOrId);
    if (!found) throw new NotFoundError(`network ${nameOrId} not found`);
    return found;
  }

  has(nameOrId: string): boolean {
    try {
      this.resolve(nameOrId);
      return true;
    } catch {
      return false;
    }
  }

  netnsPath(containerId: string): string {
    return path.join(this.deps.execRoot, "netns", containerId);
  }

  /**
   * An ADD cut short (the daemon killed before it recorded the result) still made rules keyed
   * by the container's address, which the firewall plugin can only remove when DEL names it.
   * host-local's lease files say which address the container got: rebuild that much.
   */
  private async leasedResult(entry: AttachmentEntry, containerId: string): Promise<CniResult | undefined> {
    const dir = path.join(this.deps.dataRoot, "networks", "ipam", entry.list.name);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      return undefined;
    }
    // The subnet as the stored plugin list gave it to host-local (the network may be gone by now).
    const ipam = (entry.list.plugins[0] as { ipam?: { ranges?: Array<Array<{ subnet?: string }>> } }).ipam;
    const subnet = ipam?.ranges?.[0]?.[0]?.subnet ?? "";
    const prefix = subnet.split("/")[1] ?? "32";
    for (const name of names) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue;
      const [owner, ifName] = (await fs.readFile(path.join(dir, name), "utf8").catch(() => "")).split(/\r?\n/);
      if (owner?.trim() === containerId && (!ifName || ifName.trim() === entry.ifName)) {
        return { cniVersion: "1.0.0", ips: [{ address: `${name}/${prefix}` }] };
      }
    }
    return undefined;
  }

  private attachmentPath(containerId: string): string {
    return path.join(this.deps.dataRoot, "networks", "attachments", `${containerId}.json`);
  }

  /** The CNI plugin list of a bridge network: bridge + host-local IPAM, portmap, firewall. */
  conflist(network: NetworkRecord): CniNetworkList {
    const ipam = network.IPAM.Config[0];
    const internal = network.Internal;
    return {
      cniVersion: "1.0.0",
      name: network.Name,
      plugins: [
        {
          type: "bridge",
          bridge: network.Options["com.docker.network.bridge.name"] ?? `br-${network.Id.slice(0, 12)}`,
          isGateway: true,
          ipMasq: !internal,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: ipam.Subnet, ...(ipam.Gateway ? { gateway: ipam.Gateway } : {}), ...(ipam.IPRange ? rangeBounds(ipam.IPRange) : {}) }]],
            routes: internal ? [] : [{ dst: "0.0.0.0/0" }],
            // Under the data root: daemons never share IPAM state.
            dataDir: path.join(this.deps.dataRoot, "networks", "ipam"),
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
        { type: "firewall" },
      ],
    };
  }

  /**
   * Connects a created (not yet started) container to a bridge network: pins its namespace,
   * allocates host ports, runs CNI ADD. On failure everything done so far is undone.
   */
  async attach(req: AttachRequest): Promise<ContainerNetworkState> {
    const network = this.resolve(req.network);
    const netnsPath = this.netnsPath(req.containerId);
    const file: AttachmentFile = { netnsPath, entries: [] };
    await this.writeAttachment(req.containerId, file);
    try {
      await fs.mkdir(path.dirname(netnsPath), { recursive: true, mode: 0o700 });
      await fs.writeFile(netnsPath, "", { mode: 0o444 });
      native().mount(`/proc/${req.pid}/ns/net`, netnsPath, null, MS_BIND, null);
      // One allocation at a time: two starts must not pick the same free port.
      return await this.lock.run("ports", async () => {
        const taken = [...this.ports.values()].flat();
        const portMappings = await allocatePorts(req.portBindings, taken);
        const ips = req.ip ? [this.fixedAddress(network, req.ip)] : [];
        const list = this.conflist(network);
        if (ips.length) list.plugins[0] = { ...list.plugins[0], capabilities: { ips: true } };
        // The tuning plugin changes the address the bridge plugin gave the container's side.
        if (req.mac) list.plugins.splice(1, 0, { type: "tuning", capabilities: { mac: true } });
        const runtimeConfig = { portMappings, ...(ips.length ? { ips } : {}), ...(req.mac ? { mac: req.mac } : {}) };
        const entry: AttachmentEntry = { network: network.Name, networkId: network.Id, ifName: "eth0", list, runtimeConfig };
        file.entries.push(entry);
        await this.writeAttachment(req.containerId, file);
        entry.result = await cniAdd(entry.list, { containerId: req.containerId, netnsPath, ifName: entry.ifName, runtimeConfig: entry.runtimeConfig }, this.cniPath);
        await this.writeAttachment(req.containerId, file);
        if (this.deps.hostPorts) await this.deps.hostPorts.publish(portMappings);
        this.ports.set(req.containerId, portMappings);
        await this.serveDns(network);
        const endpoint = { ...endpointFrom(network, entry.result), Aliases: req.aliases?.length ? req.aliases : null };
        return { SandboxKey: netnsPath, Networks: { [network.Name]: endpoint }, Ports: portMappings };
      });
    } catch (err) {
      await this.detach(req.containerId).catch((e: unknown) => this.deps.log.warn({ id: req.containerId, err: errorMessage(e) }, "network rollback failed"));
      throw err;
    }
  }

  /** CNI DEL for every network the container joined, then unpins its namespace. Idempotent. */
  async detach(containerId: string): Promise<void> {
    const file = await this.readAttachment(containerId);
    if (file) {
      const pinned = isNamespacePin(file.netnsPath);
      for (const entry of [...file.entries].reverse()) {
        const args = { containerId, netnsPath: pinned ? file.netnsPath : "", ifName: entry.ifName, runtimeConfig: entry.runtimeConfig };
        const result = entry.result ?? (await this.leasedResult(entry, containerId));
        await cniDel(entry.list, args, result, this.cniPath).catch((err: unknown) =>
          this.deps.log.warn({ id: containerId, network: entry.network, err: errorMessage(err) }, "CNI DEL failed"),
        );
      }
    }
    if (this.deps.hostPorts) {
      const published = file?.entries.flatMap((e) => e.runtimeConfig.portMappings) ?? this.ports.get(containerId) ?? [];
      await this.deps.hostPorts.unpublish(published).catch((err: unknown) => this.deps.log.warn({ id: containerId, err: errorMessage(err) }, "removing the port forwards failed"));
    }
    const netnsPath = file?.netnsPath ?? this.netnsPath(containerId);
    unmountAll(netnsPath);
    await fs.rm(netnsPath, { force: true });
    await fs.rm(this.attachmentPath(containerId), { force: true });
    this.ports.delete(containerId);
  }

  /**
   * After a daemon start: attachments of containers that no longer run are torn down (an exit
   * or a crash while the daemon was away); running ones get their published ports back.
   */
  async reconcile(isRunning: (containerId: string) => boolean): Promise<void> {
    const dir = path.dirname(this.attachmentPath("x"));
    const files = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of files.filter((f) => f.endsWith(".json"))) {
      const id = name.slice(0, -".json".length);
      if (!isRunning(id)) {
        await this.detach(id);
        continue;
      }
      const file = await this.readAttachment(id);
      this.ports.set(id, file?.entries.flatMap((e) => e.runtimeConfig.portMappings) ?? []);
      for (const entry of file?.entries ?? []) {
        const network = this.deps.store.get(entry.networkId);
        if (network) await this.serveDns(network);
      }
    }
    // Pins without an attachment record (a crash between the two writes).
    const pins = await fs.readdir(path.dirname(this.netnsPath("x"))).catch(() => [] as string[]);
    for (const id of pins) if (!isRunning(id) || !files.includes(`${id}.json`)) await this.detach(id);
  }

  private async writeAttachment(containerId: string, file: AttachmentFile): Promise<void> {
    const target = this.attachmentPath(containerId);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const tmp = `${target}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(file));
    await fs.rename(tmp, target);
  }

  private async readAttachment(containerId: string): Promise<AttachmentFile | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.attachmentPath(containerId), "utf8")) as AttachmentFile;
    } catch {
      return undefined;
    }
  }
}

/** Removes a network's bridge interface (the bridge plugin creates it and never deletes it). */
function deleteLink(name: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["link", "del", name], { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", () => resolve());
    child.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function newNetwork(name: string, driver: NetworkRecord["Driver"]): NetworkRecord {
  return {
    Name: name,
    Id: newId(),
    Created: new Date().toISOString(),
    Scope: "local",
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Options: {},
    Labels: {},
  };
}

function uniquePrefix(all: NetworkRecord[], prefix: string): NetworkRecord | undefined {
  if (!/^[0-9a-f]+$/.test(prefix)) return undefined;
  const matches = all.filter((n) => n.Id.startsWith(prefix));
  return matches.length === 1 ? matches[0] : undefined;
}

/** host-local takes an address range as rangeStart/rangeEnd within the subnet. */
function rangeBounds(ipRange: string): { rangeStart: string; rangeEnd: string } {
  const { subnet } = parseCidr(ipRange);
  const size = 2 ** (32 - subnet.prefixLen);
  return { rangeStart: formatIPv4(subnet.base + (size > 2 ? 1 : 0)), rangeEnd: formatIPv4(subnet.base + size - (size > 2 ? 2 : 1)) };
}

function endpointFrom(network: NetworkRecord, result: CniResult): EndpointState {
  const sandboxIfIndex = result.interfaces?.findIndex((i) => i.sandbox) ?? -1;
  const ip = result.ips?.find((i) => i.address.includes(".")) ?? result.ips?.[0];
  const [address, len] = (ip?.address ?? "/0").split("/");
  return {
    NetworkID: network.Id,
    EndpointID: newId(),
    Gateway: ip?.gateway ?? "",
    IPAddress: address,
    IPPrefixLen: Number(len),
    MacAddress: sandboxIfIndex >= 0 ? (result.interfaces?.[sandboxIfIndex].mac ?? "") : "",
    Aliases: null,
  };
}

/** host and none have no addresses to give: Docker's refusal for connecting to them. */
function refuseNonBridge(network: NetworkRecord): void {
  if (network.Driver !== "bridge") throw new ForbiddenError(`container cannot be disconnected from host network or connected to ${network.Name} network`);
}
