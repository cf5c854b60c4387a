import type { PortMapping } from "./ports";

/** One network as stored (Docker's network inspect shape minus Containers, which is computed). */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: "local";
  Driver: "bridge" | "host" | "null";
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: Array<{ Subnet: string; Gateway?: string; IPRange?: string }> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** A container's endpoint on one network while it runs. */
export interface EndpointState {
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  MacAddress: string;
  Aliases: string[] | null;
}

/** What a running container's record carries about its networking (cleared at exit). */
export interface ContainerNetworkState {
  /** The pinned network namespace (Docker's SandboxKey). */
  SandboxKey: string;
  Networks: Record<string, EndpointState>;
  Ports: PortMapping[];
}
