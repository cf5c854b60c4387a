import assert from "node:assert/strict";
import { LayerDigests } from "../../src/engine/distribution/layer-digests";
import { freePort } from "../helpers/net";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { registerImageRoutes } from "../../src/api/routes/images";
import { Router, sendError } from "../../src/api/router";
import { errorMessage, isWharfError } from "../../src/lib/errors";
import { imageFixture, listTree, makeTar, tempDir, type ImageFixture } from "../helpers/images";

/**
 * The image routes over HTTP on a unix socket, and the real docker CLI (when installed) against
 * them: import, images, inspect, history, tag, save, load, rmi.
 */

const SCRIPT = path.resolve(__dirname, "../../../scripts/make-busybox-rootfs.sh");
const DOCKER = "/usr/local/bin/docker";
const CURRENT = "1.50";

let work: string;
let socket: string;
let server: http.Server;
let fx: ImageFixture;
let rootfs: Buffer;

/** A stand-in for the daemon's server: version prefix, routing, Docker-shaped errors, /_ping. */
function startServer(router: Router): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://wharf");
    let p = url.pathname;
    let apiVersion = CURRENT;
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(p);
    if (m) {
      apiVersion = m[1];
      p = m[2];
    }
    if (p === "/_ping") {
      res.writeHead(200, { "API-Version": CURRENT, "OSType": "linux", "Docker-Experimental": "false", "Content-Type": "text/plain" });
      res.end(req.method === "HEAD" ? undefined : "OK");
      return;
    }
    const match = router.match(req.method ?? "GET", p);
    if (match === null) return sendError(res, 404, "page not found");
    if (match === "method-not-allowed") return sendError(res, 405, "method not allowed");
    match.handler({ req, res, params: match.params, query: url.searchParams, apiVersion }).catch((err: unknown) => {
      sendError(res, isWharfError(err) ? err.statusCode : 500, errorMessage(err));
    });
  });
  return new Promise((resolve) => srv.listen(socket, () => resolve(srv)));
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function call(method: string, urlPath: string, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: urlPath, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

function json(reply: Reply): unknown {
  return JSON.parse(reply.body.toString());
}

/** JSON-lines stream bodies (load, create). */
function lines(reply: Reply): Array<Record<string, unknown>> {
  return reply.body
    .toString()
    .split(/\r?\n/)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(async () => {
  work = tempDir("images-api");
  socket = path.join(work, "api.sock");
  rootfs = execFileSync("bash", [SCRIPT], { timeout: 30_000, maxBuffer: 64 << 20 });
  fx = imageFixture(path.join(work, "data"));
  const router = new Router();
  registerImageRoutes(router, fx.images, { insecureRegistries: [], certsDirs: [], layerDigests: new LayerDigests(fx.metadata) });
  server = await startServer(router);
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  fx?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("image API", () => {
  let id: string;

  it("POST /images/create?fromSrc=- imports the body", async () => {
    const q = new URLSearchParams({ fromSrc: "-", repo: "busybox", tag: "latest" });
    q.append("changes", 'CMD ["sh"]');
    q.append("changes", "ENV A=1");
    const reply = await call("POST", `/v1.44/images/create?${q}`, rootfs);
    assert.equal(reply.status, 200);
    const [status] = lines(reply);
    id = String(status.status);
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    const inspect = fx.images.inspect("busybox");
    assert.deepEqual(inspect.Config.Env, ["A=1"]);
    assert.equal(inspect.Comment, "Imported from -");
  });

  it("refuses bad imports with Docker-shaped 400s and stores nothing", async () => {
    const before = JSON.stringify(listTree(fx.root).filter((p) => !p.startsWith("wharf.db")));
    const bad = await call("POST", `/images/create?fromSrc=-&repo=x&changes=${encodeURIComponent("RUN id")}`, rootfs);
    assert.equal(bad.status, 400);
    assert.deepEqual(json(bad), { message: "RUN is not a valid change command" });
    const url = await call("POST", "/images/create?fromSrc=http://example.com/x.tar");
    assert.equal(url.status, 400);
    assert.match(String((json(url) as { message: string }).message), /not supported yet/);
    const garbage = await call("POST", "/images/create?fromSrc=-&repo=x", Buffer.alloc(4096, 9));
    assert.equal(garbage.status, 400);
    const upper = await call("POST", "/images/create?fromSrc=-&repo=Upper", rootfs);
    assert.equal(upper.status, 400);
    assert.deepEqual(json(upper), { message: "invalid reference format: repository name (library/Upper) must be lowercase" });
    assert.equal(JSON.stringify(listTree(fx.root).filter((p) => !p.startsWith("wharf.db"))), before);
  });

  it("GET /images/json in the shapes of several API versions", async () => {
    const current = json(await call("GET", "/v1.44/images/json")) as Array<Record<string, unknown>>;
    assert.equal(current.length, 1);
    assert.equal(current[0].Id, id);
    assert.deepEqual(current[0].RepoTags, ["busybox:latest"]);
    assert.equal("VirtualSize" in current[0], false);
    const old = json(await call("GET", "/v1.41/images/json")) as Array<Record<string, unknown>>;
    assert.equal(old[0].VirtualSize, old[0].Size);
    const filtered = await call("GET", `/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: ["nomatch*"] }))}`);
    assert.deepEqual(json(filtered), []);
    const bad = await call("GET", `/images/json?filters=${encodeURIComponent(JSON.stringify({ bogus: ["1"] }))}`);
    assert.equal(bad.status, 400);
    assert.deepEqual(json(bad), { message: "invalid filter 'bogus'" });
  });

  it("GET /images/{name}/json and /history", async () => {
    const cur = json(await call("GET", "/images/busybox/json")) as Record<string, unknown>;
    assert.equal(cur.Id, id);
    assert.equal("ContainerConfig" in cur, false);
    assert.equal("Hostname" in (cur.Config as object), false);
    const old = json(await call("GET", "/v1.43/images/busybox:latest/json")) as Record<string, unknown>;
    assert.equal(old.Container, "");
    assert.equal((old.Config as Record<string, unknown>).Hostname, "");
    assert.equal(old.VirtualSize, old.Size);
    const missing = await call("GET", "/images/nothere/json");
    assert.equal(missing.status, 404);
    assert.deepEqual(json(missing), { message: "No such image: nothere:latest" });
    const history = json(await call("GET", `/images/${id.slice(7, 19)}/history`)) as Array<Record<string, unknown>>;
    assert.equal(history[0].Id, id);
    assert.deepEqual(history[0].Tags, ["busybox:latest"]);
  });

  it("POST /images/{name}/tag, names with slashes and ports", async () => {
    const ok = await call("POST", "/images/busybox/tag?repo=localhost:5000/tools/bb&tag=1");
    assert.equal(ok.status, 201);
    const viaSlash = json(await call("GET", "/images/localhost:5000/tools/bb:1/json")) as Record<string, unknown>;
    assert.equal(viaSlash.Id, id);
    assert.equal((await call("POST", "/images/nothere/tag?repo=x")).status, 404);
    assert.equal((await call("POST", "/images/busybox/tag?repo=Bad")).status, 400);
    assert.equal((await call("POST", "/images/busybox/tag?repo=x&tag=bad%20tag")).status, 400);
    assert.equal((await call("POST", "/images/busybox/tag")).status, 400);
  });

  it("POST /images/create?fromImage= from an unreachable loopback registry is an HTTP error, nothing stored", async () => {
    const port = await freePort();
    const before = (json(await call("GET", "/images/json")) as unknown[]).length;
    const missing = await call("POST", `/images/create?fromImage=127.0.0.1:${port}/alpine&tag=3`);
    assert.equal(missing.status, 500);
    assert.match(String((json(missing) as { message: string }).message), new RegExp(`127\\.0\\.0\\.1:${port}/v2/.*ECONNREFUSED`));
    assert.equal((json(await call("GET", "/images/json")) as unknown[]).length, before);
  });

  it("GET /images/get and /images/{name}/get, then POST /images/load", async () => {
    const saved = await call("GET", "/images/get?names=busybox&names=localhost:5000/tools/bb:1");
    assert.equal(saved.status, 200);
    assert.equal(saved.headers["content-type"], "application/x-tar");
    const single = await call("GET", "/images/localhost:5000/tools/bb:1/get");
    assert.equal(single.status, 200);
    assert.equal((await call("GET", "/images/get?names=nothere")).status, 404);
    assert.equal((await call("GET", "/images/get")).status, 400);

    const rmi = json(await call("DELETE", "/images/localhost:5000/tools/bb:1")) as unknown[];
    assert.deepEqual(rmi, [{ Untagged: "localhost:5000/tools/bb:1" }]);
    const deleted = json(await call("DELETE", `/images/busybox?noprune=1`)) as Array<Record<string, string>>;
    assert.deepEqual(deleted.slice(0, 2), [{ Untagged: "busybox:latest" }, { Deleted: id }]);

    const loaded = await call("POST", "/images/load?quiet=1", saved.body);
    assert.equal(loaded.status, 200);
    assert.deepEqual(lines(loaded), [{ stream: "Loaded image: busybox:latest\n" }, { stream: "Loaded image: localhost:5000/tools/bb:1\n" }]);
    assert.equal(fx.images.resolve("busybox").id, id);
  });

  it("POST /images/load without quiet reports Docker's \"Loading layer\" progress for layers it unpacks", async () => {
    // An image whose one layer nothing else has, so that the load unpacks it.
    const layer = await makeTar([{ name: "only-here.txt", data: "load progress\n" }]);
    assert.equal((await call("POST", "/images/create?fromSrc=-&repo=loadprog&tag=1", layer)).status, 200);
    const saved = await call("GET", "/images/get?names=loadprog:1");
    const id = fx.images.resolve("loadprog:1").id;
    assert.deepEqual((json(await call("DELETE", "/images/loadprog:1")) as Array<Record<string, string>>)[0], { Untagged: "loadprog:1" });
    const loaded = await call("POST", "/images/load?quiet=0", saved.body);
    const messages = lines(loaded);
    const progress = messages.filter((m) => m.status === "Loading layer");
    assert.ok(progress.length > 0, JSON.stringify(messages.slice(0, 3)));
    const last = progress[progress.length - 1] as { id: string; progress: string; progressDetail: { current: number; total: number } };
    assert.match(last.id, /^[0-9a-f]{12}$/);
    assert.equal(last.progressDetail.current, last.progressDetail.total);
    assert.match(last.progress, /^\[=+>\] +[\d.]+[kM]?B\/[\d.]+[kM]?B$/);
    assert.deepEqual(messages[messages.length - 1], { stream: "Loaded image: loadprog:1\n" });
    assert.equal(fx.images.resolve("loadprog:1").id, id);
  });

  it("a bad archive on /images/load is reported in the stream and changes nothing", async () => {
    const before = JSON.stringify(fx.images.list());
    const hostile = await makeTar([{ name: "../../evil", data: "x" }]);
    const reply = await call("POST", "/images/load", hostile);
    assert.equal(reply.status, 200);
    const [msg] = lines(reply);
    assert.match(String(msg.error), /escapes the archive root/);
    assert.equal(JSON.stringify(fx.images.list()), before);
  });

  it("DELETE conflicts and POST /images/prune", async () => {
    fx.images.tag("busybox", "second");
    const conflict = await call("DELETE", `/images/${id.slice(7, 19)}`);
    assert.equal(conflict.status, 409);
    assert.deepEqual(json(conflict), { message: `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories` });
    const prune = json(await call("POST", "/images/prune")) as Record<string, unknown>;
    assert.deepEqual(prune, { ImagesDeleted: null, SpaceReclaimed: 0 });
    assert.equal((await call("POST", `/images/prune?filters=${encodeURIComponent('{"foo":["1"]}')}`)).status, 400);
    assert.equal((await call("DELETE", "/images/nothere")).status, 404);
    await call("DELETE", "/images/second");
  });
});

describe("image API with the docker CLI", { skip: !fs.existsSync(DOCKER) && "docker CLI not installed" }, () => {
  function docker(args: string[], input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(
        DOCKER,
        ["-H", `unix://${socket}`, ...args],
        { timeout: 60_000, maxBuffer: 64 << 20, env: { ...process.env, DOCKER_CONFIG: path.join(work, "docker-config") } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input) child.stdin?.end(input);
    });
  }

  it("import, images, inspect, history, tag, save, rmi, load", async () => {
    const rootfsFile = path.join(work, "rootfs.tar");
    fs.writeFileSync(rootfsFile, rootfs);
    const imported = await docker(["import", "--change", 'CMD ["sh"]', "-m", "from the cli", rootfsFile, "cli/busybox:1"]);
    assert.equal(imported.code, 0, imported.stderr);
    const id = imported.stdout.trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);

    const images = await docker(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "cli/busybox"]);
    assert.equal(images.code, 0, images.stderr);
    assert.equal(images.stdout.trim(), `cli/busybox:1 ${id.slice(7, 19)}`);

    const inspect = await docker(["image", "inspect", "--format", "{{json .Config.Cmd}} {{.Comment}}", "cli/busybox:1"]);
    assert.equal(inspect.stdout.trim(), '["sh"] from the cli');

    const history = await docker(["history", "--no-trunc", "--format", "{{.ID}} {{.Comment}}", "cli/busybox:1"]);
    assert.equal(history.stdout.trim(), `${id} from the cli`);

    assert.equal((await docker(["tag", "cli/busybox:1", "cli/busybox:2"])).code, 0);
    const archive = path.join(work, "cli-save.tar");
    const saved = await docker(["save", "-o", archive, "cli/busybox"]);
    assert.equal(saved.code, 0, saved.stderr);

    const rmi = await docker(["rmi", "cli/busybox:1", "cli/busybox:2"]);
    assert.equal(rmi.code, 0, rmi.stderr);
    assert.match(rmi.stdout, /Untagged: cli\/busybox:1/);
    assert.match(rmi.stdout, new RegExp(`Deleted: ${id}`));

    const loaded = await docker(["load", "-i", archive]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /Loaded image: cli\/busybox:1/);
    assert.match(loaded.stdout, /Loaded image: cli\/busybox:2/);
    assert.equal(fx.images.resolve("cli/busybox:2").id, id);

    const missing = await docker(["image", "inspect", "cli/nothere"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such image: cli\/nothere/);
    const conflict = await docker(["rmi", id.slice(7, 19)]);
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /must be forced/);
    assert.equal((await docker(["rmi", "-f", id.slice(7, 19)])).code, 0);
  });
});
