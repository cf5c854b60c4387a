import { pruneFilter } from "../../engine/prune-filter";
import { z } from "zod";
import type { ContainerService } from "../../engine/containers/container-service";
import type { ContainerRecord } from "../../engine/containers/types";
import { createNetworkSchema, PREDEFINED } from "../../engine/networks/create-network";
import type { NetworkService } from "../../engine/networks/network-service";
import type { NetworkRecord } from "../../engine/networks/types";
import { InvalidParameterError } from "../../lib/errors";
import type { Router } from "../router";
import { filtersParam, readJson, sendEmpty, sendJson } from "../router";

export interface NetworkRouteDeps {
  networks: NetworkService;
  containers: ContainerService;
}

const connectSchema = z
  .object({
    Container: z.string(),
    EndpointConfig: z
      .object({
        Aliases: z.array(z.string()).nullish(),
        IPAMConfig: z.object({ IPv4Address: z.string().nullish() }).passthrough().nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();

const disconnectSchema = z.object({ Container: z.string(), Force: z.boolean().nullish() }).passthrough();

const FILTER_KEYS = ["name", "id", "driver", "label", "type", "scope", "dangling"];

/** Running containers with an endpoint on the network, as network inspect's Containers shows them. */
function endpointsOn(network: NetworkRecord, containers: ContainerRecord[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of containers) {
    const ep = Object.values(c.NetworkSettings?.Networks ?? {}).find((e) => e.NetworkID === network.Id);
    if (!ep) continue;
    out[c.Id] = { Name: c.Name.slice(1), EndpointID: ep.EndpointID, MacAddress: ep.MacAddress, IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`, IPv6Address: "" };
  }
  return out;
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf("=");
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

export function registerNetworkRoutes(router: Router, deps: NetworkRouteDeps): void {
  const { networks, containers } = deps;
  const inUse = (n: NetworkRecord): boolean =>
    Object.keys(endpointsOn(n, containers.list())).length > 0 || containers.list().some((c) => c.HostConfig.NetworkMode === n.Name || c.HostConfig.NetworkMode === n.Id);

  router.get("/networks", async ({ res, query }) => {
    const filters = filtersParam(query);
    for (const key of filters.keys()) if (!FILTER_KEYS.includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
    const any = (key: string, test: (v: string) => boolean): boolean => !filters.get(key)?.length || (filters.get(key) ?? []).some(test);
    const list = networks.list().filter(
      (n) =>
        any("name", (v) => n.Name.includes(v)) &&
        any("id", (v) => n.Id.startsWith(v)) &&
        any("driver", (v) => n.Driver === v) &&
        any("scope", (v) => v === "local") &&
        any("type", (v) => (v === "builtin" ? PREDEFINED.has(n.Name) : v === "custom" ? !PREDEFINED.has(n.Name) : false)) &&
        any("dangling", (v) => (v === "true" || v === "1") === (!PREDEFINED.has(n.Name) && !inUse(n))) &&
        (filters.get("label") ?? []).every((v) => labelMatches(n.Labels, v)),
    );
    const all = containers.list();
    sendJson(res, 200, list.map((n) => ({ ...n, Containers: endpointsOn(n, all) })));
  });

  router.get("/networks/:id", async ({ res, params }) => {
    const n = networks.resolve(params.id);
    sendJson(res, 200, { ...n, Containers: endpointsOn(n, containers.list()) });
  });

  router.post("/networks/create", async ({ req, res }) => {
    const body = await readJson(req, createNetworkSchema);
    const n = networks.create(body);
    sendJson(res, 201, { Id: n.Id, Warning: "" });
  });

  router.delete("/networks/:id", async ({ res, params }) => {
    const n = networks.resolve(params.id);
    const active = containers
      .list()
      .filter((c) => Object.values(c.NetworkSettings?.Networks ?? {}).some((e) => e.NetworkID === n.Id))
      .map((c) => ({ name: c.Name.slice(1), id: c.Id }));
    await networks.remove(n.Id, active);
    sendEmpty(res, 204);
  });

  router.post("/networks/prune", async ({ res, query }) => {
    const wanted = pruneFilter(filtersParam(query));
    const deleted: string[] = [];
    for (const n of networks.list()) {
      if (PREDEFINED.has(n.Name) || inUse(n) || !wanted(Date.parse(n.Created), n.Labels)) continue;
      await networks.remove(n.Id, []);
      deleted.push(n.Name);
    }
    sendJson(res, 200, { NetworksDeleted: deleted });
  });

  router.post("/networks/:id/connect", async ({ req, res, params }) => {
    const body = await readJson(req, connectSchema);
    const n = networks.resolve(params.id);
    await containers.connectToNetwork(body.Container, n.Id, {
      ip: body.EndpointConfig?.IPAMConfig?.IPv4Address || undefined,
      aliases: body.EndpointConfig?.Aliases ?? undefined,
    });
    sendEmpty(res, 200);
  });

  router.post("/networks/:id/disconnect", async ({ req, res, params }) => {
    const body = await readJson(req, disconnectSchema);
    const n = networks.resolve(params.id);
    await containers.disconnectNetworkOf(body.Container, n.Id);
    sendEmpty(res, 200);
  });
}
