/** `version`: the Client and Server sections docker prints, or --format over the same data. */
import type { CommandDef } from "../command";
import { CLIENT_API_VERSION } from "../api-client";
import { formatFlag } from "../list-output";
import { clientVersion, goArch, renderFormat } from "./system-common";

/**
 * Go's tabwriter as docker's version uses it (minwidth 20, padding 1): in each run of
 * lines that have a tab, the first cell is padded to the widest cell + 1.
 */
export function alignTabs(text: string, minWidth = 20): string {
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    if (!lines[i].includes("\t")) {
      i++;
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j].includes("\t")) j++;
    const block = lines.slice(i, j).map((l) => l.split("\t"));
    const width = Math.max(minWidth, ...block.map((cells) => cells[0].length + 1));
    for (let k = i; k < j; k++) {
      const [first, ...rest] = block[k - i];
      lines[k] = first.padEnd(width) + rest.join("\t");
    }
    i = j;
  }
  return lines.join("\n");
}

interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string> | null;
}

interface ServerVersion {
  Platform?: { Name?: string };
  Components?: ComponentVersion[] | null;
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

/** Go's time.ANSIC for an RFC 3339 build time, as docker reformats it. */
function reformatDate(value: string | undefined): string {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const day = d.toLocaleString("en-US", { weekday: "short", timeZone: "UTC" });
  const month = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, " ")} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

function versionText(client: Record<string, string>, server: ServerVersion | undefined): string {
  const out: string[] = [
    "Client:",
    ` Version:\t${client.Version}`,
    ` API version:\t${client.APIVersion}${client.APIVersion !== client.DefaultAPIVersion ? ` (downgraded from ${client.DefaultAPIVersion})` : ""}`,
    ` Node version:\t${client.NodeVersion}`,
    ` OS/Arch:\t${client.Os}/${client.Arch}`,
    ` Context:\t${client.Context}`,
  ];
  if (server) {
    out.push("", `Server:${server.Platform?.Name ? ` ${server.Platform.Name}` : ""}`);
    const components: ComponentVersion[] = [...(server.Components ?? [])];
    if (!components.some((c) => c.Name === "Engine")) {
      components.push({
        Name: "Engine",
        Version: server.Version ?? "",
        Details: {
          ApiVersion: server.ApiVersion ?? "",
          MinAPIVersion: server.MinAPIVersion ?? "",
          Os: server.Os ?? "",
          Arch: server.Arch ?? "",
        },
      });
    }
    for (const c of components) {
      const d = c.Details ?? {};
      out.push(` ${c.Name}:`);
      if (c.Name === "Engine") {
        out.push(
          `  Version:\t${c.Version}`,
          `  API version:\t${d.ApiVersion ?? ""} (minimum version ${d.MinAPIVersion ?? ""})`,
          `  Go version:\t${d.GoVersion ?? ""}`,
          `  Git commit:\t${d.GitCommit ?? ""}`,
          `  Built:\t${reformatDate(d.BuildTime)}`,
          `  OS/Arch:\t${d.Os ?? ""}/${d.Arch ?? ""}`,
          `  Experimental:\t${d.Experimental ?? "false"}`,
        );
      } else {
        out.push(`  Version:\t${c.Version}`);
        for (const key of Object.keys(d).sort()) out.push(`  ${key}:\t${d[key]}`);
      }
    }
  }
  return alignTabs(out.join("\n")) + "\n";
}

export const versionCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Show the wharf version information",
  flags: [{ ...formatFlag(false), short: "f" }],
  args: { max: 0 },
  run: async (ctx, flags) => {
    const client = ctx.client();
    let server: ServerVersion | undefined;
    let serverError: unknown;
    let apiVersion = CLIENT_API_VERSION;
    try {
      apiVersion = await client.apiVersion();
      server = await client.json<ServerVersion>("GET", "/version");
    } catch (err) {
      serverError = err;
    }
    const clientInfo = {
      Version: clientVersion(),
      APIVersion: apiVersion,
      DefaultAPIVersion: CLIENT_API_VERSION,
      NodeVersion: process.version,
      Os: process.platform,
      Arch: goArch(),
      Context: "default",
    };
    const format = flags.string("format");
    if (format !== "") {
      const serverData = server
        ? { ...server, APIVersion: server.ApiVersion, MinAPIVersion: server.MinAPIVersion }
        : null;
      await renderFormat(ctx.io, format, { Client: { ...clientInfo, ApiVersion: apiVersion }, Server: serverData }, "version");
    } else {
      ctx.io.stdout.write(versionText(clientInfo, server));
    }
    if (serverError) throw serverError;
    return 0;
  },
};
