/** `top`: GET /containers/{id}/top, laid out as docker's tabwriter does. */
import type { CommandDef } from "../command";
import { tabwriter } from "../format/table";
import { containerPath } from "./lifecycle";

export const topCommand: CommandDef = {
  usage: "CONTAINER [ps OPTIONS]",
  short: "Display the running processes of a container",
  aliases: ["container top", "top"],
  flags: [],
  stopAtFirstPositional: true,
  args: { min: 1 },
  run: async (ctx, _flags, [name, ...psArgs]) => {
    const top = await ctx.client().json<{ Titles: string[]; Processes: string[][] }>("GET", containerPath(name, "/top"), {
      query: { ps_args: psArgs.length ? psArgs.join(" ") : undefined },
    });
    const lines = [top.Titles.join("\t"), ...top.Processes.map((row) => row.join("\t"))];
    ctx.io.stdout.write(tabwriter(lines, { minWidth: 20, padding: 3 }));
    return 0;
  },
};
