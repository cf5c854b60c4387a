/**
 * Rows of `ps`: one object per container whose getters are docker/cli's container
 * formatter fields (.ID, .Image, .Command, .RunningFor, ...), for the shared template engine,
 * which also encodes them for `{{json .}}` as docker marshals its contexts.
 */
import { humanDuration, humanSize, goQuote } from "../../lib/units";
import { familiarString, parseNormalizedNamed } from "../../lib/reference";
import { ellipsis, goTimeString, truncateId } from "./text";
import type { HeaderValue } from "../format/table";

export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** The fields of GET /containers/json items that ps shows. */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  Ports?: PortSummary[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  NetworkSettings?: { Networks?: Record<string, unknown> } | null;
  Mounts?: Array<{ Name?: string; Source?: string; Driver?: string }>;
}

export const DEFAULT_PS_FORMAT =
  "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/** docker's header for `{{.Label "com.example.team"}}`: the last dotted part, - and _ as spaces. */
function labelHeader(name: unknown): string {
  const parts = String(name).split(".");
  return parts[parts.length - 1].replace(/[-_]/g, " ");
}

export const CONTAINER_HEADERS: Record<string, HeaderValue> = {
  ID: "CONTAINER ID",
  Names: "NAMES",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  LocalVolumes: "LOCAL VOLUMES",
  Networks: "NETWORKS",
  Platform: "PLATFORM",
  Label: labelHeader,
};

/** The format ps uses for its flags (docker's NewContainerFormat). */
export function psFormat(format: string, quiet: boolean, size: boolean): string {
  if (format === "" || format === "table") {
    if (quiet) return "{{.ID}}";
    return size ? `${DEFAULT_PS_FORMAT}\t{{.Size}}` : DEFAULT_PS_FORMAT;
  }
  return quiet ? "{{.ID}}" : format;
}

function joinHostPort(ip: string, port: string | number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function comparePorts(a: PortSummary, b: PortSummary): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  const ipA = a.IP ?? "";
  const ipB = b.IP ?? "";
  if (ipA !== ipB) return ipA < ipB ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

function formGroup(key: string, start: number, last: number): string {
  const slash = key.lastIndexOf("/");
  const ip = slash === -1 ? "" : key.slice(0, slash);
  const type = slash === -1 ? key : key.slice(slash + 1);
  let group = start === last ? String(start) : `${start}-${last}`;
  if (ip !== "") group = `${joinHostPort(ip, group)}->${group}`;
  return `${group}/${type}`;
}

/** docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 9000-9001/tcp". */
export function displayablePorts(ports: PortSummary[]): string {
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const port of [...ports].sort(comparePorts)) {
    const current = port.PrivatePort;
    let key = port.Type;
    if (port.IP) {
      if ((port.PublicPort ?? 0) !== current) {
        hostMappings.push(`${joinHostPort(port.IP, port.PublicPort ?? 0)}->${port.PrivatePort}/${port.Type}`);
        continue;
      }
      key = `${port.IP}/${port.Type}`;
    }
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === group.last + 1) {
      group.last = current;
      continue;
    }
    result.push(formGroup(key, group.first, group.last));
    // Overwriting keeps the key's first position, which is the order docker prints in.
    groups.set(key, { first: current, last: current });
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...hostMappings].join(", ");
}

export class ContainerRow {
  constructor(
    private readonly c: ContainerSummary,
    private readonly trunc: boolean,
    private readonly nowMs: number,
  ) {}

  get ID(): string {
    return this.trunc ? truncateId(this.c.Id) : this.c.Id;
  }

  get Names(): string {
    const names = (this.c.Names ?? []).map((n) => n.replace(/^\//, ""));
    if (this.trunc) return names.find((n) => !n.includes("/")) ?? "";
    return names.join(",");
  }

  get Image(): string {
    const image = this.c.Image ?? "";
    if (image === "") return "<no image>";
    if (!this.trunc) return image;
    const shortId = truncateId(this.c.ImageID ?? "");
    if (shortId !== "" && shortId === truncateId(image)) return shortId;
    try {
      const ref = parseNormalizedNamed(image);
      // Drop a digest, keep a tag.
      return familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag });
    } catch {
      return image;
    }
  }

  get Command(): string {
    const command = this.c.Command ?? "";
    return goQuote(this.trunc ? ellipsis(command, 20) : command);
  }

  get CreatedAt(): string {
    return goTimeString(this.c.Created ?? 0);
  }

  get RunningFor(): string {
    return `${humanDuration(this.nowMs - (this.c.Created ?? 0) * 1000)} ago`;
  }

  get Ports(): string {
    return displayablePorts(this.c.Ports ?? []);
  }

  get State(): string {
    return this.c.State ?? "";
  }

  get Status(): string {
    return this.c.Status ?? "";
  }

  get Size(): string {
    const rw = humanSize(this.c.SizeRw ?? 0, 3);
    const rootFs = this.c.SizeRootFs ?? 0;
    return rootFs > 0 ? `${rw} (virtual ${humanSize(rootFs, 3)})` : rw;
  }

  get Labels(): string {
    const labels = this.c.Labels ?? {};
    return Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(",");
  }

  Label(name: string): string {
    return this.c.Labels?.[name] ?? "";
  }

  get Mounts(): string {
    return (this.c.Mounts ?? [])
      .map((m) => {
        const name = m.Name ? m.Name : (m.Source ?? "");
        return this.trunc ? ellipsis(name, 15) : name;
      })
      .join(",");
  }

  get LocalVolumes(): string {
    return String((this.c.Mounts ?? []).filter((m) => m.Driver === "local").length);
  }

  get Networks(): string {
    return Object.keys(this.c.NetworkSettings?.Networks ?? {}).join(",");
  }

  /** docker's Platform() is a nil pointer unless the daemon reports the image manifest. */
  get Platform(): null {
    return null;
  }

}
