import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ApiClient, compareVersions, encodeQuery, jsonValues, parseHost, pathSegment, readBody } from "../../src/cli/api-client";
import { ApiError, ConnectError } from "../../src/cli/errors";

let dir = "";
let server: http.Server;
let serverVersion: string | undefined = "1.50";
const seen: string[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-api-client-"));
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const version = /^\/v(\d+\.\d+)\//.exec(req.url ?? "")?.[1];
    if (req.url === "/_ping") {
      res.writeHead(200, serverVersion ? { "API-Version": serverVersion } : {}).end("OK");
    } else if (version && serverVersion && compareVersions(version, serverVersion) > 0) {
      // What dockerd answers a client newer than itself.
      res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ message: `client version ${version} is too new. Maximum supported API version is ${serverVersion}` }));
    } else if (req.url?.endsWith("/json-error")) {
      res.writeHead(409, { "Content-Type": "application/json" }).end('{"message":"container is running"}');
    } else if (req.url?.endsWith("/text-error")) {
      res.writeHead(500, { "Content-Type": "text/plain" }).end("plain failure\n");
    } else if (req.url?.endsWith("/empty-error")) {
      res.writeHead(404).end();
    } else if (req.url?.includes("/echo")) {
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => res.writeHead(200, { "Content-Type": "application/json" }).end(Buffer.concat(chunks)));
    } else {
      res.writeHead(204).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(path.join(dir, "s.sock"), resolve));
});

after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function client(): ApiClient {
  return new ApiClient(`unix://${path.join(dir, "s.sock")}`);
}

test("negotiates min(ours, the daemon's) and prefixes paths with it", async () => {
  seen.length = 0;
  serverVersion = "1.50";
  const c = client();
  assert.equal(await c.apiVersion(), "1.47");
  await c.call("POST", "/containers/x/start");
  assert.deepEqual(seen, ["GET /_ping", "POST /v1.47/containers/x/start"]);
  c.close();

  serverVersion = "1.44";
  const older = client();
  assert.equal(await older.apiVersion(), "1.44");
  older.close();

  serverVersion = undefined;
  const unknown = client();
  assert.equal(await unknown.apiVersion(), "1.24");
  unknown.close();
  serverVersion = "1.50";
});

test("the first request goes out beside the ping; an older daemon's refusal sends it again with its version", async () => {
  seen.length = 0;
  serverVersion = "1.50";
  const current = client();
  await current.call("POST", "/containers/x/start");
  assert.equal(await current.apiVersion(), "1.47", "the ping sent beside it");
  assert.deepEqual([...seen].sort(), ["GET /_ping", "POST /v1.47/containers/x/start"]);
  current.close();

  seen.length = 0;
  serverVersion = "1.44";
  const older = client();
  await older.call("POST", "/containers/y/start");
  assert.deepEqual(seen.filter((r) => r.startsWith("POST")), ["POST /v1.47/containers/y/start", "POST /v1.44/containers/y/start"]);
  assert.ok(seen.includes("GET /_ping"));
  older.close();
  serverVersion = "1.50";
});

test("a fixed version (DOCKER_API_VERSION) skips the ping", async () => {
  seen.length = 0;
  const c = new ApiClient(`unix://${path.join(dir, "s.sock")}`, "1.45");
  await c.call("GET", "/info");
  assert.deepEqual(seen, ["GET /v1.45/info"]);
  c.close();
});

test("JSON bodies go out and come back", async () => {
  const c = client();
  assert.deepEqual(await c.json("POST", "/echo", { body: { a: [1, "x"] } }), { a: [1, "x"] });
  const res = await c.request("POST", "/echo", { rawBody: Readable.from([Buffer.from("raw "), Buffer.from("stream")]) });
  assert.equal((await readBody(res)).toString(), "raw stream");
  c.close();
});

test("daemon errors: JSON message, plain text, bare status", async () => {
  const c = client();
  await assert.rejects(c.call("POST", "/json-error"), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.statusCode, 409);
    assert.equal(err.message, "Error response from daemon: container is running");
    return true;
  });
  await assert.rejects(c.call("GET", "/text-error"), new ApiError(500, "plain failure"));
  await assert.rejects(c.call("GET", "/empty-error"), (err: unknown) => err instanceof ApiError && err.statusCode === 404);
  c.close();
});

test("no daemon: the connect message", async () => {
  const c = new ApiClient("unix:///nonexistent/x.sock");
  await assert.rejects(
    c.ping(),
    new ConnectError("Cannot connect to the wharf daemon at unix:///nonexistent/x.sock. Is the wharf daemon running?"),
  );
  c.close();
});

test("hosts, versions, queries, path segments", () => {
  assert.deepEqual(parseHost("unix:///run/wharf.sock"), { socketPath: "/run/wharf.sock" });
  assert.deepEqual(parseHost("tcp://10.0.0.1:2376"), { host: "10.0.0.1", port: 2376 });
  assert.deepEqual(parseHost("tcp://[::1]:2375"), { host: "::1", port: 2375 });
  assert.throws(() => parseHost("ftp://x"), /unable to parse docker host/);
  assert.ok(compareVersions("1.44", "1.47") < 0);
  assert.ok(compareVersions("1.100", "1.47") > 0);
  assert.equal(compareVersions("1.47", "1.47"), 0);
  assert.equal(encodeQuery({ all: true, size: false, limit: 3, skip: undefined, names: ["a b", "c"] }), "?all=1&size=0&limit=3&names=a%20b&names=c");
  assert.equal(encodeQuery({}), "");
  assert.equal(pathSegment("localhost:5000/app@sha256:ab"), "localhost:5000/app@sha256:ab");
  assert.equal(pathSegment("a b?#"), "a%20b%3F%23");
});

test("JSON message streams split into values, across chunk boundaries", async () => {
  const text = '{"status":"a"}\r\n{"stream":"b {}\\"\\n"}{"aux":{"ID":"x"}}\n';
  const chunks = [text.slice(0, 5), text.slice(5, 20), text.slice(20)].map((s) => Buffer.from(s));
  const values: unknown[] = [];
  for await (const v of jsonValues(Readable.from(chunks))) values.push(v);
  assert.deepEqual(values, [{ status: "a" }, { stream: 'b {}"\n' }, { aux: { ID: "x" } }]);
});
