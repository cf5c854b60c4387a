import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, run, useDaemon } from "../helpers/daemon";
import { type DistributionRegistry, startDistributionRegistry } from "../helpers/distribution-registry";
import { freePort } from "../helpers/net";

const SERVICE = "wharf-test-registry";
const ISSUER = "wharf-test-token-server";

/**
 * A small token server, as Docker's token auth spec describes one: GET /token?service&scope
 * with Basic credentials answers {token} — an ES256 JWT whose x5c header carries the
 * certificate the registry trusts — granting what the user may do (carol: pull and push on
 * team/*; anonymous: nothing).
 */
function startTokenServer(keyPem: string, certPem: string, port: number): Promise<http.Server> {
  const key = createPrivateKey(keyPem);
  const x5c = [new X509Certificate(certPem).raw.toString("base64")];
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const auth = req.headers.authorization ?? "";
    const user = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString() : "";
    if (user && user !== "carol:s3cret") {
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
      return;
    }
    const access = user
      ? url.searchParams.getAll("scope").flatMap((scope) => {
          const [type, name, actions] = scope.split(":");
          return type === "repository" && name.startsWith("team/") ? [{ type, name, actions: actions.split(",") }] : [];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header = b64({ typ: "JWT", alg: "ES256", x5c });
    const claims = b64({ iss: ISSUER, sub: user.split(":")[0] || "anonymous", aud: url.searchParams.get("service"), exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access });
    const signature = sign("sha256", Buffer.from(`${header}.${claims}`), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 300 }));
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

describe("pull with bearer tokens from a token server (Debian's docker-registry)", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  let work: string;
  let tokens: http.Server;
  let reg: DistributionRegistry;
  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-token-"));
    const key = path.join(work, "key.pem");
    const cert = path.join(work, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=wharf test token signer"], { stdio: "ignore" });
    const tokenPort = await freePort();
    tokens = await startTokenServer(fs.readFileSync(key, "utf8"), fs.readFileSync(cert, "utf8"), tokenPort);
    reg = await startDistributionRegistry({ token: { realm: `http://127.0.0.1:${tokenPort}/token`, service: SERVICE, issuer: ISSUER, rootCertBundle: cert } });
  });
  after(async () => {
    await reg?.stop();
    tokens?.closeAllConnections();
    await new Promise((r) => (tokens ? tokens.close(r) : r(undefined)));
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("anonymous is refused; after login the token carries the scope and the pull works; a bad token is a 401", async () => {
    const file = path.join(work, "busybox.tar");
    assert.equal((await d.wharf(["save", "-o", file, "busybox:latest"])).code, 0);
    // Not execFileSync: the token server answering skopeo lives in this process.
    const copied = await run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "carol:s3cret", `docker-archive:${file}:busybox:latest`, `docker://${reg.host}/team/bb:1`], { timeoutMs: 60_000 });
    assert.equal(copied.code, 0, copied.stderr);

    const anonymous = await d.wharf(["pull", `${reg.host}/team/bb:1`]);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, new RegExp(`pull access denied for ${reg.host}/team/bb`));
    const env = { DOCKER_CONFIG: path.join(work, "cfg") };
    const wrong = await d.wharf(["login", "-u", "carol", "--password-stdin", reg.host], { env, input: "nope\n" });
    assert.equal(wrong.code, 1);
    assert.equal((await d.wharf(["login", "-u", "carol", "--password-stdin", reg.host], { env, input: "s3cret\n" })).code, 0);
    const pulled = await d.wharf(["pull", `${reg.host}/team/bb:1`], { env });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, new RegExp(`Status: (Downloaded newer image|Image is up to date) for ${reg.host}/team/bb:1`));

    const bad = Buffer.from(JSON.stringify({ registrytoken: "e30.e30.c2ln" })).toString("base64url");
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath: d.socketPath, method: "POST", path: `/v1.47/images/create?fromImage=${encodeURIComponent(`${reg.host}/team/bb`)}&tag=1`, headers: { "X-Registry-Auth": bad } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 401);
  });
});
