import type { ServerResponse } from "node:http";
import type { Duplex, Readable } from "node:stream";
import type { ContainerService, WaitCondition } from "../../engine/containers/container-service";
import { createContainerSchema, updateContainerSchema } from "../../engine/containers/create-request";
import { statsDocument } from "../../engine/containers/stats";
import { filterContainers, inspectView, summaryView } from "../../engine/containers/views";
import type { ContainerRootfs, ImageProvider } from "../../engine/images/types";
import type { Authorization } from "../authorization";
import { DEFAULT_DETACH_KEYS, DetachKeyFilter, parseDetachKeys } from "../../lib/detach-keys";
import { InvalidParameterError, WharfError, errorMessage } from "../../lib/errors";
import { pruneFilter } from "../../engine/prune-filter";
import { STDERR, STDOUT, frame } from "../../lib/stdcopy";
import { readLog } from "../../runtime/logfile";
import type { AttachStreams } from "../../runtime/types";
import { boolParam, filtersParam, intParam, onClientGone, readJson, type Router, sendEmpty, sendJson, terminalSizeParams } from "../router";
import { writeUpgradeHeaders } from "../server";
import { versionAtLeast } from "../version";

export interface ContainerRouteDeps {
  /** The daemon's --authorization-rules, when it has any. */
  authorization?: Authorization;
  containers: ContainerService;
  images: ImageProvider;
  rootfs: ContainerRootfs;
}

/** RFC 3339 with nine fractional digits and "Z", as Docker prints log timestamps. */
export function dockerTimestamp(time: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return time;
  const frac = /\.(\d+)/.exec(time)?.[1] ?? "";
  const iso = new Date(ms).toISOString().slice(0, 19);
  return `${iso}.${(frac + "000000000").slice(0, 9)}Z`;
}

function streamContentType(tty: boolean, apiVersion: string): string {
  if (tty) return "application/vnd.docker.raw-stream";
  return versionAtLeast(apiVersion, "1.42") ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";
}

/** Unix seconds ("1700000000.123") from a since/until query value; 0 = unset. */
function unixSeconds(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === "" || raw === "0") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new InvalidParameterError(`invalid value for "${name}": ${raw}`);
  return n;
}

export function registerContainerRoutes(router: Router, deps: ContainerRouteDeps): void {
  const { containers } = deps;

  router.post("/containers/create", async ({ req, res, query }) => {
    const body = await readJson(req, createContainerSchema);
    deps.authorization?.checkContainer(body.HostConfig as Record<string, unknown> | null | undefined);
    const result = await containers.create(body, query.get("name") ?? undefined);
    sendJson(res, 201, result);
  });

  router.get("/containers/json", async ({ res, query }) => {
    const all = boolParam(query, "all");
    const limit = intParam(query, "limit", -1) ?? -1;
    const filters = filtersParam(query);
    let records = containers.list();
    if (!all && limit <= 0) records = records.filter((c) => c.State.Running);
    records = filterContainers(records, filters, {
      imageId: (ref) => {
        try {
          return deps.images.resolve(ref).id;
        } catch {
          return undefined;
        }
      },
      container: (ref) => containers.get(ref),
    });
    records.sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    if (limit > 0) records = records.slice(0, limit);
    const now = Date.now();
    sendJson(res, 200, records.map((r) => summaryView(r, now)));
  });

  router.post("/containers/prune", async ({ res, query }) => {
    sendJson(res, 200, await containers.prune(pruneFilter(filtersParam(query))));
  });

  router.get("/containers/:id/json", async ({ res, params }) => {
    const record = containers.get(params.id);
    const merged = deps.rootfs.mergedPath(record.Id);
    const base = merged.replace(/\/merged$/, "");
    let lowerDirs: string[] = [];
    try {
      lowerDirs = deps.images.layerDirs(deps.images.resolve(record.Image));
    } catch {
      // The image may have been force-removed; inspect still answers.
    }
    sendJson(
      res,
      200,
      inspectView(record, {
        LowerDir: lowerDirs.slice().reverse().join(":"),
        MergedDir: merged,
        UpperDir: `${base}/upper`,
        WorkDir: `${base}/work`,
      }),
    );
  });

  router.post("/containers/:id/start", async ({ res, params }) => {
    await containers.start(params.id);
    sendEmpty(res, 204);
  });

  router.post("/containers/:id/stop", async ({ res, params, query }) => {
    await containers.stop(params.id, { timeoutSeconds: intParam(query, "t"), signal: query.get("signal") || undefined });
    sendEmpty(res, 204);
  });

  router.post("/containers/:id/restart", async ({ res, params, query }) => {
    await containers.restart(params.id, { timeoutSeconds: intParam(query, "t"), signal: query.get("signal") || undefined });
    sendEmpty(res, 204);
  });

  router.post("/containers/:id/kill", async ({ res, params, query }) => {
    await containers.kill(params.id, query.get("signal") || undefined);
    sendEmpty(res, 204);
  });

  router.post("/containers/:id/update", async ({ req, res, params }) => {
    const body = await readJson(req, updateContainerSchema);
    sendJson(res, 200, await containers.update(params.id, body));
  });

  router.post("/containers/:id/pause", async ({ res, params }) => {
    await containers.pause(params.id);
    sendEmpty(res, 204);
  });

  router.post("/containers/:id/unpause", async ({ res, params }) => {
    await containers.unpause(params.id);
    sendEmpty(res, 204);
  });

  router.get("/containers/:id/stats", async ({ req, res, params, query }) => {
    const record = containers.get(params.id);
    const stream = boolParam(query, "stream", true);
    const oneShot = boolParam(query, "one-shot");
    let closed = false;
    onClientGone(res, () => (closed = true));
    let previous = oneShot ? undefined : await containers.statsPoint(record.Id);
    res.writeHead(200, { "Content-Type": "application/json" });
    // Docker samples once a second; the first document already carries a previous point.
    for (let i = 0; stream || i === 0; i++) {
      if (!oneShot) await new Promise((resolve) => setTimeout(resolve, 1000));
      if (closed) break;
      const current = containers.get(record.Id);
      const now = await containers.statsPoint(current.Id);
      res.write(JSON.stringify(statsDocument(current, now, previous)) + "\n");
      previous = now;
      if (!current.State.Running && stream) break;
    }
    res.end();
  });

  router.get("/containers/:id/top", async ({ res, params, query }) => {
    sendJson(res, 200, await containers.top(params.id, query.get("ps_args") ?? "-ef"));
  });

  router.post("/containers/:id/rename", async ({ res, params, query }) => {
    await containers.rename(params.id, query.get("name") ?? "");
    sendEmpty(res, 204);
  });

  router.delete("/containers/:id", async ({ res, params, query }) => {
    await containers.remove(params.id, { force: boolParam(query, "force"), volumes: boolParam(query, "v") });
    sendEmpty(res, 204);
  });

  router.post("/containers/:id/wait", async ({ req, res, params, query }) => {
    const condition = (query.get("condition") || "not-running") as WaitCondition;
    if (!["not-running", "next-exit", "removed"].includes(condition)) {
      throw new InvalidParameterError(`invalid condition: "${condition}"`);
    }
    const record = containers.get(params.id);
    const exited = containers.waitFor(record.Id, condition);
    // Headers go out only after the waiter is registered: the docker CLI starts the
    // container as soon as it sees them, and a fast exit must not be missed.
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    let clientGone = false;
    onClientGone(res, () => (clientGone = true));
    const code = await exited;
    if (!clientGone) res.end(JSON.stringify({ StatusCode: code, Error: null }) + "\n");
  });

  router.post("/containers/:id/resize", async ({ res, params, query }) => {
    const { height, width } = terminalSizeParams(query);
    await containers.resize(params.id, height, width);
    sendEmpty(res, 200);
  });

  router.get("/containers/:id/logs", async ({ req, res, params, query, apiVersion }) => {
    const record = containers.get(params.id);
    if ((record.HostConfig.LogConfig as { Type?: string } | undefined)?.Type === "none") {
      throw new WharfError("configured logging driver does not support reading", 501);
    }
    const stdout = boolParam(query, "stdout");
    const stderr = boolParam(query, "stderr");
    if (!stdout && !stderr) throw new InvalidParameterError("You must choose at least one stream");
    const follow = boolParam(query, "follow");
    const timestamps = boolParam(query, "timestamps");
    const tailRaw = query.get("tail");
    const tail = !tailRaw || tailRaw === "all" ? -1 : Number(tailRaw);
    if (!Number.isInteger(tail)) throw new InvalidParameterError(`invalid value for "tail": ${tailRaw}`);
    const since = unixSeconds(query, "since");
    const until = unixSeconds(query, "until");
    const tty = record.Config.Tty;
    const abort = new AbortController();
    onClientGone(res, () => abort.abort());
    const following = follow && record.State.Running;
    const stopWhen = following ? containers.waitFor(record.Id, "not-running").then(() => undefined) : undefined;
    res.writeHead(200, { "Content-Type": streamContentType(tty, apiVersion) });
    res.flushHeaders();
    try {
      for await (const entry of readLog(record.LogPath, { follow: following, since, until, tail, stdout, stderr, signal: abort.signal, stopWhen })) {
        const payload = timestamps ? Buffer.concat([Buffer.from(dockerTimestamp(entry.time) + " "), entry.data]) : entry.data;
        const chunk = tty ? payload : frame(entry.stream === "stderr" ? STDERR : STDOUT, payload);
        if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
    res.end();
  });

  router.post(
    "/containers/:id/attach",
    async ({ res, params, query, apiVersion }) => {
      // Without an Upgrade header (e.g. dockerode without hijack): output only, over the response.
      const record = containers.get(params.id);
      detachKeysParam(query);
      const streams = await containers.attach(record.Id, { stdin: false });
      res.writeHead(200, { "Content-Type": streamContentType(record.Config.Tty, apiVersion) });
      res.once("close", () => streams.close());
      pumpOutput(streams, res, { tty: record.Config.Tty, stdout: boolParam(query, "stdout"), stderr: boolParam(query, "stderr") }, () => res.end());
    },
    async ({ params, query, apiVersion }, socket, head) => {
      const record = containers.get(params.id);
      const tty = record.Config.Tty;
      const withStdin = boolParam(query, "stdin");
      // Detach keys act on a TTY's input only, as in Docker (a pipe may carry any byte).
      const detachKeys = detachKeysParam(query);
      writeUpgradeHeaders(socket, streamContentType(tty, apiVersion));
      // Input (and its end) may arrive before the container starts: `echo x | docker run -i`
      // sends everything, then half-closes, while the attach is still pending.
      const early: Buffer[] = [];
      let inputEnded = false;
      let detached = false;
      let deliver: ((chunk: Buffer) => void) | undefined;
      let endInput: (() => void) | undefined;
      let detach: (() => void) | undefined;
      const filter = tty && withStdin ? new DetachKeyFilter(detachKeys) : null;
      const onInput = (raw: Buffer): void => {
        if (detached) return;
        const { data, detached: sawKeys } = filter ? filter.push(raw) : { data: raw, detached: false };
        if (data.length) (deliver ? deliver(data) : early.push(data));
        if (sawKeys) {
          detached = true;
          detach?.();
        }
      };
      if (head.length) onInput(head);
      socket.on("data", onInput);
      socket.once("end", () => {
        inputEnded = true;
        endInput?.();
      });
      let clientClosed = false;
      socket.once("close", () => {
        clientClosed = true;
        // The container may be gone by now (rm -f, --rm): then there is nothing to cancel.
        if (!containers.exists(record.Id) || !containers.get(record.Id).State.Running) containers.cancelPendingAttach(record.Id);
      });
      let streams: AttachStreams;
      try {
        streams = await containers.attach(record.Id, { stdin: boolParam(query, "stdin") });
      } catch (err) {
        // The start failed (its error goes to the start request) or the client left first.
        deps.containers.events.emit("attach-failed", { id: record.Id, error: errorMessage(err) });
        socket.end();
        return;
      }
      if (clientClosed) {
        streams.close();
        return;
      }
      // The detach keys leave the container running and end this attach only.
      detach = () => {
        streams.close();
        socket.end();
      };
      if (detached) return detach();
      const stdin = streams.stdin;
      if (stdin) {
        // Docker closes the container's stdin at the client's EOF only for StdinOnce without a
        // TTY (conmon runs the others with --leave-stdin-open); the attach itself ends there.
        const closesStdin = record.Config.StdinOnce && !tty;
        for (const chunk of early.splice(0)) stdin.write(chunk);
        deliver = (chunk) => stdin.write(chunk);
        endInput = closesStdin ? () => stdin.end() : () => streams.close();
        if (inputEnded) endInput();
      } else {
        early.length = 0;
        deliver = () => undefined;
      }
      socket.once("close", () => streams.close());
      pumpOutput(streams, socket, { tty, stdout: boolParam(query, "stdout"), stderr: boolParam(query, "stderr") }, () => socket.end());
    },
  );
}

/** `detachKeys` of an attach: Docker's default when absent, a 400 when unreadable. */
export function detachKeysParam(query: URLSearchParams): Buffer {
  return parseDetachKeys(query.get("detachKeys") || DEFAULT_DETACH_KEYS);
}

/** Copies container output to the client, framed unless TTY; calls `done` when both streams end. */
function pumpOutput(
  streams: AttachStreams,
  sink: Duplex | ServerResponse,
  opts: { tty: boolean; stdout: boolean; stderr: boolean },
  done: () => void,
): void {
  let open = 2;
  const finish = (): void => {
    if (--open === 0) done();
  };
  const pipe = (source: Readable, streamType: number, wanted: boolean): void => {
    source.on("data", (chunk: Buffer) => {
      if (!wanted) return;
      const ok = sink.write(opts.tty ? chunk : frame(streamType, chunk));
      if (!ok) {
        source.pause();
        sink.once("drain", () => source.resume());
      }
    });
    source.once("end", finish);
    source.once("error", finish);
  };
  pipe(streams.stdout, STDOUT, opts.stdout);
  pipe(streams.stderr, STDERR, opts.stderr);
}
