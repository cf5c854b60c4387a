import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

/**
 * Clients such as the docker CLI and dockerode keep connections alive: one socket carries
 * many requests. Routes that watch for a client going away must not leave a listener on the
 * socket per request (Node warns past 10, and each holds its request's state).
 */
describe("many requests over one kept-alive connection", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  after(() => agent.destroy());

  function call(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: string; socket: unknown }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        { socketPath: d.socketPath, method, path: urlPath, agent, headers: data ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } : {} },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, socket: req.socket }));
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  }

  test("create/start/wait/logs/stats/rm cycles on one socket leave no listener behind", async () => {
    const sockets = new Set<unknown>();
    for (let i = 0; i < 15; i++) {
      const created = await call("POST", "/containers/create", { Image: "busybox", Cmd: ["echo", `cycle ${i}`], HostConfig: { NetworkMode: "none" } });
      assert.equal(created.status, 201, created.body);
      const id = (JSON.parse(created.body) as { Id: string }).Id;
      assert.equal((await call("POST", `/containers/${id}/start`)).status, 204);
      const waited = await call("POST", `/containers/${id}/wait`);
      assert.equal((JSON.parse(waited.body) as { StatusCode: number }).StatusCode, 0);
      assert.match((await call("GET", `/containers/${id}/logs?stdout=1`)).body, new RegExp(`cycle ${i}`));
      assert.equal((await call("GET", `/containers/${id}/stats?stream=0`)).status, 200);
      const removed = await call("DELETE", `/containers/${id}`);
      assert.equal(removed.status, 204);
      sockets.add(removed.socket);
    }
    assert.equal(sockets.size, 1, "the agent kept one connection");
    const log = fs.readFileSync(path.join(path.dirname(d.dataRoot), "wharfd.log"), "utf8");
    assert.doesNotMatch(log, /MaxListenersExceededWarning/);
  });
});
