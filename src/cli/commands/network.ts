/** `network create|ls|inspect|rm|prune|connect|disconnect`: clients of the /networks API. */
import { runInspect } from "./inspect";
import type { CommandContext, CommandDef } from "../command";
import { messageOf, StatusError } from "../errors";
import { pathSegment } from "../api-client";
import { filterFlag, filtersFrom, filtersQuery, formatFlag, validateFilter, writeRows } from "../list-output";
import { confirm } from "./image-ops";

interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Created: string;
  Internal: boolean;
  EnableIPv6: boolean;
  Labels: Record<string, string> | null;
}

const networkPath = (name: string, suffix = ""): string => `/networks/${pathSegment(name)}${suffix}`;

/** "k=v" list values -> a map (later keys win), as docker's --label/-o do. */
function keyValues(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    out[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? "" : v.slice(eq + 1);
  }
  return out;
}

export const networkCreateCommand: CommandDef = {
  usage: "[OPTIONS] NETWORK",
  short: "Create a network",
  flags: [
    { name: "driver", short: "d", type: "string", description: "Driver to manage the Network", defaultText: '"bridge"' },
    { name: "subnet", type: "strings", repeat: true, description: "Subnet in CIDR format that represents a network segment" },
    { name: "gateway", type: "strings", repeat: true, description: "IPv4 or IPv6 Gateway for the master subnet" },
    { name: "ip-range", type: "strings", repeat: true, description: "Allocate container ip from a sub-range" },
    { name: "internal", bool: true, description: "Restrict external access to the network" },
    { name: "attachable", bool: true, description: "Enable manual container attachment" },
    { name: "ipv6", bool: true, description: "Enable or disable IPv6 networking" },
    { name: "label", type: "list", repeat: true, description: "Set metadata on a network" },
    { name: "opt", short: "o", type: "map", repeat: true, description: "Set driver specific options" },
    { name: "ipam-driver", type: "string", description: "IP Address Management Driver", defaultText: '"default"' },
  ],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [name]) => {
    const subnets = flags.list("subnet");
    const gateways = flags.list("gateway");
    const ranges = flags.list("ip-range");
    if (gateways.length > subnets.length || ranges.length > subnets.length) {
      throw new StatusError("no matching subnet for gateway or range", 1);
    }
    const config = subnets.map((subnet, i) => ({ Subnet: subnet, ...(gateways[i] ? { Gateway: gateways[i] } : {}), ...(ranges[i] ? { IPRange: ranges[i] } : {}) }));
    const res = await ctx.client().json<{ Id: string }>("POST", "/networks/create", {
      body: {
        Name: name,
        Driver: flags.string("driver", "bridge"),
        Internal: flags.bool("internal"),
        Attachable: flags.bool("attachable"),
        EnableIPv6: flags.bool("ipv6"),
        IPAM: { Driver: flags.string("ipam-driver", "default"), Config: config, Options: {} },
        Options: keyValues(flags.list("opt")),
        Labels: keyValues(flags.list("label")),
      },
    });
    ctx.io.stdout.write(`${res.Id}\n`);
    return 0;
  },
};

const DEFAULT_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
const HEADERS: Record<string, string> = { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED AT" };

export const networkLsCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "List networks",
  aliases: ["network ls", "network list"],
  flags: [
    filterFlag('Provide filter values (e.g. "driver=bridge")'),
    formatFlag(true),
    { name: "no-trunc", bool: true, description: "Do not truncate the output" },
    { name: "quiet", short: "q", bool: true, description: "Only display network IDs" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const list = (await ctx.client().json<NetworkSummary[]>("GET", "/networks", { query: { filters: filtersQuery(filtersFrom(flags.list("filter"))) } })) ?? [];
    list.sort((a, b) => a.Name.localeCompare(b.Name));
    const trunc = !flags.bool("no-trunc");
    const rows = list.map((n) => ({
      ID: trunc ? n.Id.slice(0, 12) : n.Id,
      Name: n.Name,
      Driver: n.Driver,
      Scope: n.Scope,
      IPv6: String(n.EnableIPv6),
      Internal: String(n.Internal),
      Labels: Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(","),
      CreatedAt: n.Created,
    }));
    let format = flags.string("format");
    if (format === "" || format === "table") format = flags.bool("quiet") ? "{{.ID}}" : DEFAULT_FORMAT;
    await writeRows(ctx.io, format, rows, HEADERS);
    return 0;
  },
};

export const networkInspectCommand: CommandDef = {
  usage: "[OPTIONS] NETWORK [NETWORK...]",
  short: "Display detailed information on one or more networks",
  flags: [{ name: "format", short: "f", type: "string", description: "Format output using a custom template" }],
  args: { min: 1 },
  run: (ctx, flags, names) => runInspect(ctx, flags, names, "network"),
};

export const networkRmCommand: CommandDef = {
  usage: "NETWORK [NETWORK...]",
  short: "Remove one or more networks",
  aliases: ["network rm", "network remove"],
  flags: [{ name: "force", short: "f", bool: true, description: "Do not error if the network does not exist" }],
  args: { min: 1 },
  run: async (ctx, flags, names) => {
    const errors: string[] = [];
    for (const name of names) {
      try {
        await ctx.client().call("DELETE", networkPath(name));
        ctx.io.stdout.write(`${name}\n`);
      } catch (err) {
        if (!(flags.bool("force") && /not found/.test(messageOf(err)))) errors.push(messageOf(err));
      }
    }
    if (errors.length) throw new StatusError(errors.join("\n"), 1);
    return 0;
  },
};

export const networkPruneCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Remove all unused networks",
  flags: [
    { name: "filter", type: "filter", repeat: true, description: 'Provide filter values (e.g. "until=<timestamp>")', validate: validateFilter },
    { name: "force", short: "f", bool: true, description: "Do not prompt for confirmation" },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    if (!flags.bool("force")) {
      const ok = await confirm(ctx.io.stdin, ctx.io.stdout, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?");
      if (!ok) return 0;
    }
    const res = await ctx.client().json<{ NetworksDeleted: string[] | null }>("POST", "/networks/prune", { query: { filters: filtersQuery(filtersFrom(flags.list("filter"))) } });
    const deleted = res?.NetworksDeleted ?? [];
    if (deleted.length) ctx.io.stdout.write(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join("")}`);
    return 0;
  },
};

async function connectOrDisconnect(ctx: CommandContext, action: "connect" | "disconnect", network: string, body: unknown): Promise<number> {
  await ctx.client().call("POST", networkPath(network, `/${action}`), { body });
  return 0;
}

export const networkConnectCommand: CommandDef = {
  usage: "[OPTIONS] NETWORK CONTAINER",
  short: "Connect a container to a network",
  flags: [
    { name: "alias", type: "strings", repeat: true, description: "Add network-scoped alias for the container" },
    { name: "ip", type: "string", description: "IPv4 address (e.g., \"172.30.100.104\")" },
  ],
  args: { min: 2, max: 2 },
  run: (ctx, flags, [network, container]) =>
    connectOrDisconnect(ctx, "connect", network, {
      Container: container,
      EndpointConfig: { Aliases: flags.list("alias"), ...(flags.string("ip") ? { IPAMConfig: { IPv4Address: flags.string("ip") } } : {}) },
    }),
};

export const networkDisconnectCommand: CommandDef = {
  usage: "[OPTIONS] NETWORK CONTAINER",
  short: "Disconnect a container from a network",
  flags: [{ name: "force", short: "f", bool: true, description: "Force the container to disconnect from a network" }],
  args: { min: 2, max: 2 },
  run: (ctx, flags, [network, container]) => connectOrDisconnect(ctx, "disconnect", network, { Container: container, Force: flags.bool("force") }),
};
