/** `logs`: GET /containers/{id}/logs, demultiplexed unless the container has a TTY. */
import type { CommandDef } from "../command";
import { StatusError } from "../errors";
import { copyStream, demuxStream } from "../stdcopy";
import { parseTimestampParts } from "../../lib/timestamps";
import { containerPath } from "./lifecycle";

/** docker's GetTimestamp result as the API wants it: "seconds.nanoseconds" (logs, events). */
export function apiTimestamp(flag: string, value: string, nowMs: number): string | undefined {
  if (value === "") return undefined;
  try {
    const { seconds, nanos } = parseTimestampParts(value, nowMs);
    return `${seconds}.${String(nanos).padStart(9, "0")}`;
  } catch (err) {
    throw new StatusError(`invalid value for "${flag}": ${(err as Error).message}`, 1);
  }
}

export const logsCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER",
  short: "Fetch the logs of a container",
  aliases: ["container logs", "logs"],
  flags: [
    { name: "details", bool: true, description: "Show extra details provided to logs" },
    { name: "follow", short: "f", bool: true, description: "Follow log output" },
    {
      name: "since",
      type: "string",
      description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
    { name: "tail", short: "n", type: "string", description: "Number of lines to show from the end of the logs", defaultText: '"all"' },
    { name: "timestamps", short: "t", bool: true, description: "Show timestamps" },
    {
      name: "until",
      type: "string",
      description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
  ],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [name]) => {
    const client = ctx.client();
    const c = await client.json<{ Id: string; Config?: { Tty?: boolean } }>("GET", containerPath(name, "/json"));
    const now = Date.now();
    const res = await client.request("GET", containerPath(c.Id, "/logs"), {
      query: {
        stdout: true,
        stderr: true,
        since: apiTimestamp("since", flags.string("since"), now),
        until: apiTimestamp("until", flags.string("until"), now),
        timestamps: flags.bool("timestamps") || undefined,
        follow: flags.bool("follow") || undefined,
        tail: flags.string("tail", "all"),
        details: flags.bool("details") || undefined,
      },
    });
    if (c.Config?.Tty) await copyStream(res, ctx.io.stdout);
    else await demuxStream(res, ctx.io.stdout, ctx.io.stderr);
    return 0;
  },
};
