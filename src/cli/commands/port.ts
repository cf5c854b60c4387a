/** `port`: the container's published ports, from NetworkSettings.Ports of inspect (as docker does). */
import type { CommandDef } from "../command";
import { StatusError } from "../errors";
import { containerPath } from "./lifecycle";

type Ports = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

export const portCommand: CommandDef = {
  usage: "CONTAINER [PRIVATE_PORT[/PROTO]]",
  short: "List port mappings or a specific mapping for the container",
  aliases: ["container port", "port"],
  flags: [],
  args: { min: 1, max: 2 },
  run: async (ctx, _flags, [name, wanted]) => {
    const info = await ctx.client().json<{ NetworkSettings: { Ports: Ports | null } }>("GET", containerPath(name, "/json"));
    const ports = info.NetworkSettings.Ports ?? {};
    if (wanted !== undefined) {
      const key = wanted.includes("/") ? wanted : `${wanted}/tcp`;
      const bindings = ports[key];
      if (!bindings?.length) throw new StatusError(`Error: No public port '${key}' published for ${name}`, 1);
      ctx.io.stdout.write(bindings.map((b) => `${b.HostIp}:${b.HostPort}\n`).join(""));
      return 0;
    }
    const lines: string[] = [];
    const keys = Object.keys(ports).sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b));
    for (const key of keys) for (const b of ports[key] ?? []) lines.push(`${key} -> ${b.HostIp}:${b.HostPort}\n`);
    ctx.io.stdout.write(lines.join(""));
    return 0;
  },
};
