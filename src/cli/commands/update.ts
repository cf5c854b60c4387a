/** `update`: POST /containers/{id}/update with the run flags that may change later. */
import type { CommandDef } from "../command";
import { StatusError, messageOf } from "../errors";
import type { ParsedFlags } from "../flags";
import { parseNanoCpus, parseRestartPolicy } from "../opts/values";
import { containerFlags } from "../run-flags";
import { ramInBytes } from "../../lib/units";
import { containerPath } from "./lifecycle";

const UPDATE_FLAGS = [
  "blkio-weight", "cpu-period", "cpu-quota", "cpu-shares", "cpus", "cpuset-cpus", "cpuset-mems",
  "memory", "memory-reservation", "memory-swap", "pids-limit", "restart",
];

/** The update body: only what the user changed, with run's parsers. */
export function updateBody(flags: ParsedFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const bytes = (flag: string, key: string): void => {
    if (flags.changed(flag)) body[key] = flags.string(flag) === "-1" ? -1 : ramInBytes(flags.string(flag));
  };
  const int = (flag: string, key: string): void => {
    if (flags.changed(flag)) body[key] = flags.int(flag, 0);
  };
  bytes("memory", "Memory");
  bytes("memory-reservation", "MemoryReservation");
  bytes("memory-swap", "MemorySwap");
  int("cpu-shares", "CpuShares");
  int("cpu-period", "CpuPeriod");
  int("cpu-quota", "CpuQuota");
  int("blkio-weight", "BlkioWeight");
  int("pids-limit", "PidsLimit");
  if (flags.changed("cpus")) body.NanoCpus = parseNanoCpus(flags.string("cpus"));
  if (flags.changed("cpuset-cpus")) body.CpusetCpus = flags.string("cpuset-cpus");
  if (flags.changed("cpuset-mems")) body.CpusetMems = flags.string("cpuset-mems");
  if (flags.changed("restart")) body.RestartPolicy = parseRestartPolicy(flags.string("restart"));
  return body;
}

export const updateCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Update configuration of one or more containers",
  aliases: ["container update", "update"],
  flags: containerFlags("create").filter((f) => UPDATE_FLAGS.includes(f.name)),
  args: { min: 1 },
  run: async (ctx, flags, names) => {
    const body = updateBody(flags);
    if (Object.keys(body).length === 0) throw new StatusError("you must provide one or more flags when using this command", 1);
    const errors: string[] = [];
    for (const name of names) {
      try {
        const res = await ctx.client().json<{ Warnings?: string[] | null }>("POST", containerPath(name, "/update"), { body });
        for (const warning of res.Warnings ?? []) ctx.io.stderr.write(`${warning}\n`);
        ctx.io.stdout.write(`${name}\n`);
      } catch (err) {
        errors.push(messageOf(err));
      }
    }
    if (errors.length) throw new StatusError(errors.join("\n"), 1);
    return 0;
  },
};
