import { z } from "zod";
import { danglingFilter, labelsMatch, validateFilters } from "../../engine/images/views";
import type { VolumeRecord } from "../../engine/volumes/types";
import type { VolumeService } from "../../engine/volumes/volume-service";
import { InvalidParameterError } from "../../lib/errors";
import type { Router } from "../router";
import { boolParam, filtersParam, readJson, sendEmpty, sendJson } from "../router";
import { versionAtLeast } from "../version";

const createSchema = z
  .object({
    Name: z.string().nullish(),
    Driver: z.string().nullish(),
    DriverOpts: z.record(z.string(), z.string()).nullish(),
    Labels: z.record(z.string(), z.string()).nullish(),
  })
  .passthrough();

const LIST_FILTERS = ["dangling", "name", "label", "driver"];
const PRUNE_FILTERS = ["label", "label!", "all"];

/** prune's `all`: "true"/"1" or "false"/"0"; anything else is an invalid filter. */
function allFilter(values: string[]): boolean | undefined {
  if (!values.length) return undefined;
  if (values.every((v) => v === "true" || v === "1")) return true;
  if (values.every((v) => v === "false" || v === "0")) return false;
  throw new InvalidParameterError(`invalid filter 'all=${values.join(",")}'`);
}

/** Docker's name filter is a regular expression; a malformed one matches literally. */
function nameMatcher(pattern: string): (name: string) => boolean {
  try {
    const re = new RegExp(pattern);
    return (name) => re.test(name);
  } catch {
    return (name) => name.includes(pattern);
  }
}

/** /volumes: list, create, inspect, remove, prune. */
export function registerVolumeRoutes(router: Router, volumes: VolumeService): void {
  router.get("/volumes", async ({ res, query }) => {
    const filters = filtersParam(query);
    validateFilters(filters, LIST_FILTERS);
    const dangling = danglingFilter(filters);
    const names = (filters.get("name") ?? []).map(nameMatcher);
    const drivers = filters.get("driver") ?? [];
    const list = volumes.list().filter(
      (v: VolumeRecord) =>
        (dangling === undefined || (volumes.refs(v.Name).length === 0) === dangling) &&
        (!names.length || names.some((m) => m(v.Name))) &&
        (!drivers.length || drivers.includes(v.Driver)) &&
        labelsMatch(filters.get("label") ?? [], v.Labels),
    );
    sendJson(res, 200, { Volumes: list, Warnings: null });
  });

  router.post("/volumes/create", async ({ req, res }) => {
    const body = await readJson(req, createSchema);
    const v = volumes.create({ name: body.Name ?? undefined, driver: body.Driver ?? undefined, driverOpts: body.DriverOpts, labels: body.Labels });
    sendJson(res, 201, v);
  });

  router.post("/volumes/prune", async ({ res, query, apiVersion }) => {
    const filters = filtersParam(query);
    validateFilters(filters, PRUNE_FILTERS);
    // Before API 1.42 prune took every unused volume; since then only anonymous ones unless all=true.
    const all = allFilter(filters.get("all") ?? []) ?? !versionAtLeast(apiVersion, "1.42");
    const want = filters.get("label") ?? [];
    const notWant = filters.get("label!") ?? [];
    const { deleted, reclaimed } = await volumes.prune({
      all,
      // label! skips a volume only when all of its values match (moby's matchLabels, as the other prunes).
      labelFilter: (labels) => labelsMatch(want, labels) && !(notWant.length > 0 && labelsMatch(notWant, labels)),
    });
    sendJson(res, 200, { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  router.get("/volumes/:name", async ({ res, params }) => {
    sendJson(res, 200, volumes.get(params.name));
  });

  router.delete("/volumes/:name", async ({ res, params, query }) => {
    await volumes.remove(params.name, { force: boolParam(query, "force") });
    sendEmpty(res, 204);
  });
}
