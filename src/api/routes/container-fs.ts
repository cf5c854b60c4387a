import { z } from "zod";
import type { ContainerArchive, PathStat } from "../../engine/containers/archive";
import type { ContainerFilesystem } from "../../engine/containers/filesystem";
import { InvalidParameterError } from "../../lib/errors";
import type { ImageRuntimeConfig } from "../../engine/images/types";
import { boolParam, onClientGone, readJson, type Router, sendJson } from "../router";

/** The commit body is an image runtime config (Cmd, Env, ...); unknown fields pass through. */
const commitConfigSchema = z.object({}).passthrough();

/** diff, export and commit: a container's filesystem as changes, as a tar, as an image. */
function statHeader(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString("base64");
}

function pathParam(query: URLSearchParams): string {
  const p = query.get("path");
  if (!p) throw new InvalidParameterError("path is required");
  return p;
}

export function registerContainerFsRoutes(router: Router, fsOps: ContainerFilesystem, archive: ContainerArchive): void {
  router.head("/containers/:id/archive", async ({ res, params, query }) => {
    const stat = await archive.stat(params.id, pathParam(query));
    res.writeHead(200, { "X-Docker-Container-Path-Stat": statHeader(stat), "Content-Length": 0 });
    res.end();
  });

  router.get("/containers/:id/archive", async ({ req, res, params, query }) => {
    const { stat, stream } = await archive.get(params.id, pathParam(query));
    res.writeHead(200, { "Content-Type": "application/x-tar", "X-Docker-Container-Path-Stat": statHeader(stat) });
    onClientGone(res, () => stream.destroy());
    stream.pipe(res);
  });

  router.put("/containers/:id/archive", async ({ req, res, params, query }) => {
    await archive.put(params.id, pathParam(query), req, { copyUIDGID: boolParam(query, "copyUIDGID") });
    res.writeHead(200, { "Content-Length": 0 });
    res.end();
  });

  router.get("/containers/:id/changes", async ({ res, params }) => {
    const changes = await fsOps.changes(params.id);
    sendJson(res, 200, changes.length ? changes : null);
  });

  router.get("/containers/:id/export", async ({ req, res, params }) => {
    const stream = await fsOps.export(params.id);
    res.writeHead(200, { "Content-Type": "application/x-tar" });
    onClientGone(res, () => stream.destroy());
    stream.pipe(res);
  });

  router.post("/commit", async ({ req, res, query }) => {
    const config = (await readJson(req, commitConfigSchema)) as ImageRuntimeConfig;
    const id = await fsOps.commit({
      container: query.get("container") ?? "",
      repo: query.get("repo") ?? "",
      tag: query.get("tag") ?? "",
      comment: query.get("comment") ?? "",
      author: query.get("author") ?? "",
      pause: boolParam(query, "pause", true),
      changes: query.getAll("changes").flatMap((c) => c.split("\n")).filter((c) => c.trim() !== ""),
      config,
    });
    sendJson(res, 201, { Id: id });
  });
}
