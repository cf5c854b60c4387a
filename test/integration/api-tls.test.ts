import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { DOCKER, type TestDaemon, ensureBusybox, run, startDaemon } from "../helpers/daemon";
import { freePort } from "../helpers/net";

const WHARFD = path.resolve(__dirname, "..", "..", "..", "bin", "wharfd");

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCerts(dir: string): Record<"ca" | "serverCert" | "serverKey" | "clientCert" | "clientKey", string> {
  const f = (name: string): string => path.join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("ca-key.pem"), "-out", f("ca.pem"), "-days", "1", "-subj", "/CN=wharf test CA");
  for (const [name, ext] of [["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"], ["client", "extendedKeyUsage=clientAuth"]] as const) {
    fs.writeFileSync(f(`${name}.ext`), `${ext}\n`);
    ssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f(`${name}-key.pem`), "-out", f(`${name}.csr`), "-subj", `/CN=${name}`);
    ssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca-key.pem"), "-CAcreateserial", "-out", f(`${name}.pem`), "-days", "1", "-extfile", f(`${name}.ext`));
  }
  return { ca: f("ca.pem"), serverCert: f("server.pem"), serverKey: f("server-key.pem"), clientCert: f("client.pem"), clientKey: f("client-key.pem") };
}

/**
 * The API on TCP: mutual TLS that the docker CLI's --tlsverify flags speak (attach included),
 * clients without a certificate turned away, and plain TCP refused unless explicitly allowed.
 */
describe("the API over TCP: mutual TLS, plain TCP refused", () => {
  let work: string;
  let certs: ReturnType<typeof makeCerts>;
  let d: TestDaemon;
  let port: number;
  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-tls-api-"));
    certs = makeCerts(work);
    port = await freePort();
    d = await startDaemon(["-H", `tcp://127.0.0.1:${port}`, "--tlsverify", "--tlscacert", certs.ca, "--tlscert", certs.serverCert, "--tlskey", certs.serverKey]);
    await ensureBusybox(d);
  });
  after(async () => {
    await d?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const docker = (tlsArgs: string[], args: string[]) => run(DOCKER, [...tlsArgs, "-H", `tcp://127.0.0.1:${port}`, ...args], { env: { DOCKER_CONFIG: path.join(work, "cfg") } });

  test("the docker CLI with --tlsverify and a client certificate: version, and a run with attach", async () => {
    const tls = ["--tlsverify", "--tlscacert", certs.ca, "--tlscert", certs.clientCert, "--tlskey", certs.clientKey];
    const version = await docker(tls, ["version", "--format", "{{.Server.APIVersion}}"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout.trim(), /^1\.\d+$/);
    const ran = await docker(tls, ["run", "--rm", "--pull", "never", "busybox", "echo", "over mutual TLS"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, "over mutual TLS\n");
  });

  test("a client without a certificate, or speaking plain HTTP, gets nothing", async () => {
    const noCert = await docker(["--tls", "--tlscacert", certs.ca], ["version", "--format", "{{.Server.APIVersion}}"]);
    assert.notEqual(noCert.code, 0);
    assert.match(noCert.stderr, /certificate|tls|handshake/i);
    const plain = await docker([], ["version", "--format", "{{.Server.APIVersion}}"]);
    assert.notEqual(plain.code, 0);
  });

  test("plain TCP is refused at start unless --insecure-tcp, which warns", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-tcp-"));
    try {
      const plainPort = await freePort();
      const args = ["-H", `tcp://127.0.0.1:${plainPort}`, "--data-root", path.join(base, "data"), "--exec-root", path.join(base, "exec"), "--cgroup-parent", "/wharf-test", "--bridge", "wtplain0", "--bip", "10.254.99.1/24", "--registry-mirror", "127.0.0.1:1"];
      const refused = await run(process.execPath, [WHARFD, ...args], { timeoutMs: 30_000 });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr + refused.stdout, /refusing to serve the API on tcp:\/\/ without TLS/);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
    const insecurePort = await freePort();
    const loose = await startDaemon(["-H", `tcp://127.0.0.1:${insecurePort}`, "--insecure-tcp"]);
    try {
      const version = await run(DOCKER, ["-H", `tcp://127.0.0.1:${insecurePort}`, "version", "--format", "{{.Server.APIVersion}}"], { env: { DOCKER_CONFIG: path.join(work, "cfg") } });
      assert.equal(version.code, 0, version.stderr);
      assert.match(fs.readFileSync(path.join(loose.dataRoot, "..", "wharfd.log"), "utf8"), /PLAIN TCP WITHOUT TLS/);
    } finally {
      await loose.stop();
    }
  });
});
