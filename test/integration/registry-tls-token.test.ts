import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, succeeded, useDaemon } from "../helpers/daemon";
import { type RegistryProc, startRegistry } from "../helpers/registry";

/**
 * wharfd against wharf's own registry over TLS (its CA in /etc/wharf/certs.d/HOST, as Docker
 * reads /etc/docker/certs.d) with bearer tokens from the registry's token endpoint: login,
 * push and pull with per-repository scopes, and a bad token refused.
 */
describe("pull and push over TLS with bearer tokens", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  let work: string;
  let reg: RegistryProc;
  let host: string;
  let caDir: string;
  const ok = succeeded;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-tls-"));
    const cert = path.join(work, "cert.pem");
    const key = path.join(work, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    const tokenKey = path.join(work, "token.pem");
    execFileSync("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", tokenKey], { stdio: "ignore" });
    const htpasswd = path.join(work, "htpasswd");
    fs.writeFileSync(htpasswd, execFileSync("htpasswd", ["-Bbn", "carol", "tok3n"]));
    reg = await startRegistry(["--tls-cert", cert, "--tls-key", key, "--htpasswd", htpasswd, "--token-key", tokenKey], { tls: true });
    host = `127.0.0.1:${reg.port}`;
    caDir = path.join("/etc/wharf/certs.d", host);
    fs.mkdirSync(caDir, { recursive: true });
    fs.copyFileSync(cert, path.join(caDir, "ca.crt"));
  });
  after(async () => {
    await reg?.stop();
    if (caDir) {
      fs.rmSync(caDir, { recursive: true, force: true });
      // The directories this test made, if nothing else lives there.
      for (const dir of ["/etc/wharf/certs.d", "/etc/wharf"]) {
        try {
          fs.rmdirSync(dir);
        } catch {
          // not empty, or not ours
        }
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("login gets a token; push and pull go over HTTPS with the CA from certs.d", async () => {
    const env = { DOCKER_CONFIG: path.join(work, "cfg") };
    ok(await d.wharf(["tag", "busybox:latest", `${host}/team/tls:1`]));
    const anonymous = await d.wharf(["push", `${host}/team/tls:1`]);
    assert.equal(anonymous.code, 1, "no anonymous push");
    const badLogin = await d.wharf(["login", "-u", "carol", "--password-stdin", host], { env, input: "nope\n" });
    assert.equal(badLogin.code, 1);
    assert.match(badLogin.stderr, /401|unauthorized|denied/i);
    ok(await d.wharf(["login", "-u", "carol", "--password-stdin", host], { env, input: "tok3n\n" }));
    const pushed = ok(await d.wharf(["push", `${host}/team/tls:1`], { env }));
    assert.match(pushed, /1: digest: sha256:[0-9a-f]{64}/);
    ok(await d.wharf(["rmi", `${host}/team/tls:1`]));
    const pulled = ok(await d.wharf(["pull", `${host}/team/tls:1`], { env }));
    assert.match(pulled, new RegExp(`Status: (Downloaded newer image|Image is up to date) for ${host}/team/tls:1`));
    assert.equal(ok(await d.wharf(["run", "--rm", `${host}/team/tls:1`, "echo", "over-tls"])), "over-tls\n");
  });

  test("a bad bearer token is the registry's 401, and nothing is stored", async () => {
    const before = ok(await d.wharf(["images", "-q"]));
    const auth = Buffer.from(JSON.stringify({ registrytoken: "not.a.token" })).toString("base64url");
    const status = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { socketPath: d.socketPath, method: "POST", path: `/v1.47/images/create?fromImage=${encodeURIComponent(`${host}/team/tls`)}&tag=2`, headers: { "X-Registry-Auth": auth } },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve(`${res.statusCode} ${text}`));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.match(status, /^401 .*pull access denied/);
    assert.equal(ok(await d.wharf(["images", "-q"])), before);
  });
});
