import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, succeeded, useDaemon } from "../helpers/daemon";
import { makeTar } from "../helpers/images";
import { freePort } from "../helpers/net";
import { type DistributionRegistry, startDistributionRegistry } from "../helpers/distribution-registry";

/**
 * Pulls from real registries on loopback: Debian's docker-registry (anonymous and with
 * htpasswd basic auth), fed by skopeo in Docker schema 2 and OCI formats, plus a hand-made OCI
 * index; and a fake registry for the answers a real one never gives (HTML, huge manifests).
 */
describe("pull from a registry", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  let reg: DistributionRegistry;
  let work: string;
  const ok = succeeded;

  before(async () => {
    reg = await startDistributionRegistry();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-pull-"));
  });
  after(async () => {
    await reg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Saves a local image to a docker-archive and pushes it to the registry with skopeo. */
  const publish = async (local: string, remote: string, format: "v2s2" | "oci" = "v2s2"): Promise<void> => {
    const file = path.join(work, `${remote.replace(/[/:]/g, "_")}.tar`);
    ok(await d.wharf(["save", "-o", file, local]));
    reg.push(`docker-archive:${file}:${local}`, remote, format);
  };
  type Manifest = { config: { digest: string }; layers: Array<{ digest: string; size: number }> };
  const manifestOf = async (name: string, ref: string): Promise<{ digest: string; json: Manifest }> => {
    const res = await fetch(`http://${reg.host}/v2/${name}/manifests/${ref}`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
    });
    assert.equal(res.status, 200);
    return { digest: res.headers.get("docker-content-digest") ?? "", json: (await res.json()) as Manifest };
  };
  const imageCount = async (): Promise<number> => ok(await d.wharf(["images", "-aq"])).split("\n").filter(Boolean).length;
  const pullTemps = (): string[] => {
    const dir = path.join(d.dataRoot, "tmp", "images");
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };

  test("schema 2: layers download and verify, a shared one already exists, RepoDigests, run; then up to date", async () => {
    ok(await d.wharf(["run", "--name", "pt-src", "busybox", "sh", "-c", "echo from-layer > /data"]));
    ok(await d.wharf(["commit", "pt-src", "pt/multi:1"]));
    ok(await d.wharf(["rm", "pt-src"]));
    await publish("pt/multi:1", "pt/multi:1");
    const localId = ok(await d.wharf(["inspect", "-f", "{{.Id}}", "pt/multi:1"])).trim();
    ok(await d.wharf(["rmi", "pt/multi:1"]));

    const out = ok(await d.wharf(["pull", `${reg.host}/pt/multi:1`]));
    assert.match(out, new RegExp(`^1: Pulling from ${reg.host}/pt/multi$`, "m"));
    assert.match(out, /^[0-9a-f]{12}: Already exists$/m, "the busybox layer is shared");
    assert.match(out, /^[0-9a-f]{12}: Pull complete$/m);
    const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(out)?.[1];
    assert.ok(digest, out);
    assert.equal(digest, (await manifestOf("pt/multi", "1")).digest);
    assert.match(out, new RegExp(`^Status: Downloaded newer image for ${reg.host}/pt/multi:1$`, "m"));

    const inspect = JSON.parse(ok(await d.wharf(["image", "inspect", `${reg.host}/pt/multi:1`])))[0] as { Id: string; RepoDigests: string[] };
    assert.equal(inspect.Id, localId, "the same config, so the same image id");
    assert.deepEqual(inspect.RepoDigests, [`${reg.host}/pt/multi@${digest}`]);
    assert.equal(ok(await d.wharf(["run", "--rm", `${reg.host}/pt/multi:1`, "cat", "/data"])), "from-layer\n");
    const digests = ok(await d.wharf(["images", "--digests", "--format", "{{.Repository}} {{.Digest}}", `${reg.host}/pt/multi`]));
    assert.equal(digests.trim(), `${reg.host}/pt/multi ${digest}`);

    const again = ok(await d.wharf(["pull", `${reg.host}/pt/multi:1`]));
    assert.match(again, new RegExp(`^Status: Image is up to date for ${reg.host}/pt/multi:1$`, "m"));
    assert.doesNotMatch(again, /Pull complete/);
    assert.deepEqual(pullTemps(), []);
  });

  test("OCI manifests and an OCI index: the host's platform is chosen; pull by digest", async () => {
    const rootfs = await makeTar([{ name: "hello.txt", data: "solo\n" }]);
    const tarFile = path.join(work, "solo.tar");
    fs.writeFileSync(tarFile, rootfs);
    ok(await d.wharf(["import", tarFile, "pt/solo:1"]));
    await publish("pt/solo:1", "pt/idx:amd", "oci");
    await publish("busybox:latest", "pt/idx:other", "oci");
    ok(await d.wharf(["rmi", "pt/solo:1"]));

    const amd = await manifestOf("pt/idx", "amd");
    const other = await manifestOf("pt/idx", "other");
    const size = async (ref: string): Promise<number> => Number((await fetch(`http://${reg.host}/v2/pt/idx/manifests/${ref}`, { method: "HEAD", headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } })).headers.get("content-length"));
    const index = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: other.digest, size: await size("other"), platform: { architecture: "arm64", os: "linux", variant: "v8" } },
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: amd.digest, size: await size("amd"), platform: { architecture: "amd64", os: "linux" } },
      ],
    };
    const put = await fetch(`http://${reg.host}/v2/pt/idx/manifests/multi`, { method: "PUT", headers: { "Content-Type": index.mediaType }, body: JSON.stringify(index) });
    assert.equal(put.status, 201, await put.text());
    const indexDigest = put.headers.get("docker-content-digest") ?? "";

    const out = ok(await d.wharf(["pull", `${reg.host}/pt/idx:multi`]));
    assert.match(out, /Pull complete/);
    // skopeo rewrote the config for OCI, so the image is known by the amd64 manifest's config.
    const soloId = amd.json.config.digest;
    assert.notEqual(soloId, other.json.config.digest);
    assert.equal(ok(await d.wharf(["inspect", "-f", "{{.Id}}", `${reg.host}/pt/idx:multi`])).trim(), soloId, "the amd64 entry was chosen");
    ok(await d.wharf(["create", "--name", "solo-c", `${reg.host}/pt/idx:multi`, "true"]));
    assert.match(ok(await d.wharf(["cp", "solo-c:/hello.txt", "-"])), /solo\n/, "the pulled layer's file is there");
    ok(await d.wharf(["rm", "solo-c"]));
    const byDigest = ok(await d.wharf(["pull", `${reg.host}/pt/idx@${indexDigest}`]));
    assert.match(byDigest, new RegExp(`Status: Image is up to date for ${reg.host}/pt/idx@${indexDigest}`));
    const repoDigests = ok(await d.wharf(["inspect", "-f", "{{json .RepoDigests}}", soloId])).trim();
    assert.ok(repoDigests.includes(`${reg.host}/pt/idx@${indexDigest}`), repoDigests);
  });

  test("an umoci-made OCI layout: copied into the registry by skopeo and pulled, and loaded directly", async () => {
    const layout = path.join(work, "umoci-layout");
    const file = path.join(work, "greeting.txt");
    fs.writeFileSync(file, "hello from umoci\n");
    const umoci = (...args: string[]): void => void execFileSync("umoci", args, { timeout: 30_000 });
    umoci("init", "--layout", layout);
    umoci("new", "--image", `${layout}:v1`);
    umoci("insert", "--image", `${layout}:v1`, file, "/greeting.txt");
    reg.pushRaw(`oci:${layout}:v1`, "umoci/img:v1");
    ok(await d.wharf(["pull", `${reg.host}/umoci/img:v1`]));
    ok(await d.wharf(["create", "--name", "umoci-c", `${reg.host}/umoci/img:v1`, "true"]));
    assert.match(ok(await d.wharf(["cp", "umoci-c:/greeting.txt", "-"])), /hello from umoci\n/);
    ok(await d.wharf(["rm", "umoci-c"]));

    const tarFile = path.join(work, "umoci.tar");
    execFileSync("tar", ["-C", layout, "-cf", tarFile, "."]);
    const loaded = ok(await d.wharf(["load", "-i", tarFile]));
    const id = ok(await d.wharf(["inspect", "-f", "{{.Id}}", `${reg.host}/umoci/img:v1`])).trim();
    assert.match(loaded, new RegExp(`Loaded image ID: ${id}`), "the same image, by load and by pull");
  });

  test("a build pulls a base image FROM names and the daemon lacks", async () => {
    await publish("busybox:latest", "base/bb:1");
    const context = path.join(work, "build-context");
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, "Dockerfile"), `FROM ${reg.host}/base/bb:1\nRUN echo built-on-a-pulled-base > /marker\n`);
    const built = await d.docker(["build", "-t", "pulled-base:1", context], { env: { DOCKER_BUILDKIT: "0" } });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    assert.match(built.stdout, new RegExp(`1: Pulling from ${reg.host}/base/bb`));
    assert.match(built.stdout, /Successfully tagged pulled-base:1/);
    assert.equal(ok(await d.wharf(["run", "--rm", "pulled-base:1", "cat", "/marker"])), "built-on-a-pulled-base\n");
    ok(await d.wharf(["rmi", "pulled-base:1", `${reg.host}/base/bb:1`]));
  });

  test("the docker CLI pulls through wharfd; -a pulls every tag", async () => {
    const out = await d.docker(["pull", `${reg.host}/pt/multi:1`]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /Digest: sha256:[0-9a-f]{64}/);
    assert.match(out.stdout, new RegExp(`Status: Image is up to date for ${reg.host}/pt/multi:1`));
    assert.equal(out.stdout.trim().split("\n").pop(), `${reg.host}/pt/multi:1`);
    const all = await d.docker(["pull", "-a", `${reg.host}/pt/idx`]);
    assert.equal(all.code, 0, all.stderr);
    const tags = ok(await d.wharf(["images", "--format", "{{.Tag}}", `${reg.host}/pt/idx`])).split("\n").filter(Boolean).sort();
    assert.deepEqual(tags, ["amd", "multi", "other"]);
  });

  test("missing tags, bad blobs and broken registries: clear errors, no image, nothing half-stored", async () => {
    const missing = await d.wharf(["pull", `${reg.host}/pt/multi:nope`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`manifest for ${reg.host}/pt/multi:nope not found: manifest unknown`));
    const docker = await d.docker(["pull", `${reg.host}/pt/nothere:1`]);
    assert.equal(docker.code, 1);
    assert.match(docker.stderr, /Error response from daemon: .*(not found|unknown)/);
    const badRef = await d.wharf(["pull", `${reg.host}/Bad/Name:1`]);
    assert.equal(badRef.code, 1);
    assert.match(badRef.stderr, /invalid reference format/);

    // A layer whose bytes are not what its digest says, then one cut short.
    ok(await d.wharf(["rmi", `${reg.host}/pt/multi:1`]));
    const { json } = await manifestOf("pt/multi", "1");
    const top = json.layers[json.layers.length - 1];
    const blob = reg.blobFile(top.digest);
    const original = fs.readFileSync(blob);
    const before = await imageCount();
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)] ^= 0xff;
    fs.writeFileSync(blob, damaged);
    const corrupt = await d.wharf(["pull", `${reg.host}/pt/multi:1`]);
    assert.equal(corrupt.code, 1, corrupt.stdout);
    assert.match(corrupt.stderr, new RegExp(`filesystem layer verification failed for digest ${top.digest}`));
    assert.equal(await imageCount(), before, "no image from a corrupt pull");
    fs.writeFileSync(blob, original.subarray(0, Math.floor(original.length / 2)));
    const truncated = await d.wharf(["pull", `${reg.host}/pt/multi:1`]);
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /truncated/);
    assert.deepEqual(pullTemps(), [], "no temp files left");
    fs.writeFileSync(blob, original);
    const healed = ok(await d.wharf(["pull", `${reg.host}/pt/multi:1`]));
    assert.match(healed, /Pull complete/, "a second pull completes cleanly");

    // A "registry" that answers HTML, or a manifest far too large.
    const port = await freePort();
    const fake = http.createServer((req, res) => {
      if (req.url?.includes("/manifests/huge")) {
        res.writeHead(200, { "Content-Type": "application/vnd.oci.image.manifest.v1+json" });
        res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
        return;
      }
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<html><body>Welcome to nginx!</body></html>");
    });
    await new Promise<void>((r) => fake.listen(port, "127.0.0.1", r));
    try {
      const html = await d.wharf(["pull", `127.0.0.1:${port}/some/image:1`]);
      assert.equal(html.code, 1);
      assert.match(html.stderr, /error parsing HTTP 200 response body.*<html>/);
      const huge = await d.wharf(["pull", `127.0.0.1:${port}/some/image:huge`]);
      assert.equal(huge.code, 1);
      assert.match(huge.stderr, /too large/);
    } finally {
      fake.closeAllConnections();
      await new Promise((r) => fake.close(r));
    }
    assert.equal(await imageCount(), before + 1);
  });

  test("basic auth: anonymous pulls are refused with Docker's words; X-Registry-Auth, login and logout", async () => {
    const secured = await startDistributionRegistry({ user: "alice", password: "s3cret" });
    try {
      const file = path.join(work, "busybox.tar");
      ok(await d.wharf(["save", "-o", file, "busybox:latest"]));
      secured.push(`docker-archive:${file}:busybox:latest`, "team/bb:1");
      const anonymous = await d.wharf(["pull", `${secured.host}/team/bb:1`]);
      assert.equal(anonymous.code, 1);
      assert.match(anonymous.stderr, new RegExp(`pull access denied for ${secured.host}/team/bb, repository does not exist or may require 'docker login'`));

      const auth = Buffer.from(JSON.stringify({ username: "alice", password: "s3cret", serveraddress: secured.host })).toString("base64url");
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { socketPath: d.socketPath, method: "POST", path: `/v1.47/images/create?fromImage=${encodeURIComponent(`${secured.host}/team/bb`)}&tag=1`, headers: { "X-Registry-Auth": auth } },
          (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () => resolve(`${res.statusCode} ${text}`));
          },
        );
        req.on("error", reject);
        req.end();
      });
      assert.match(body, /^200 /);
      assert.match(body, new RegExp(`Status: (Downloaded newer image|Image is up to date) for ${secured.host}/team/bb:1`));
      const wrong = Buffer.from(JSON.stringify({ username: "alice", password: "nope" })).toString("base64url");
      const denied = await new Promise<number>((resolve, reject) => {
        const req = http.request({ socketPath: d.socketPath, method: "POST", path: `/v1.47/images/create?fromImage=${encodeURIComponent(`${secured.host}/team/bb`)}&tag=1`, headers: { "X-Registry-Auth": wrong } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(denied, 401);

      // login stores the credentials as docker does; pull sends them; logout forgets them.
      ok(await d.wharf(["rmi", `${secured.host}/team/bb:1`]));
      const env = { DOCKER_CONFIG: path.join(work, "wharf-config") };
      const badLogin = await d.wharf(["login", "-u", "alice", "--password-stdin", secured.host], { env, input: "wrong\n" });
      assert.equal(badLogin.code, 1);
      assert.match(badLogin.stderr, new RegExp(`login attempt to https?://${secured.host}/v2/ failed with status: 401 Unauthorized`));
      assert.equal(fs.existsSync(path.join(env.DOCKER_CONFIG, "config.json")), false, "nothing stored for a failed login");
      const login = await d.wharf(["login", "-u", "alice", "--password-stdin", secured.host], { env, input: "s3cret\n" });
      assert.equal(login.code, 0, login.stderr);
      assert.equal(login.stdout, "Login Succeeded\n");
      const config = JSON.parse(fs.readFileSync(path.join(env.DOCKER_CONFIG, "config.json"), "utf8")) as { auths: Record<string, { auth: string }> };
      assert.equal(Buffer.from(config.auths[secured.host].auth, "base64").toString(), "alice:s3cret");
      assert.equal(fs.statSync(path.join(env.DOCKER_CONFIG, "config.json")).mode & 0o777, 0o600);
      const pulled = await d.wharf(["pull", `${secured.host}/team/bb:1`], { env });
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal((await d.wharf(["logout", secured.host], { env })).stdout, `Removing login credentials for ${secured.host}\n`);
      assert.equal((await d.wharf(["logout", secured.host], { env })).stdout, `Not logged in to ${secured.host}\n`);

      // The docker CLI logs in through wharfd's /auth and pulls with what it stored.
      ok(await d.wharf(["rmi", `${secured.host}/team/bb:1`]));
      const dockerEnv = { DOCKER_CONFIG: path.join(work, "docker-config") };
      const dockerLogin = await d.docker(["login", "-u", "alice", "--password-stdin", secured.host], { env: dockerEnv, input: "s3cret\n" });
      assert.equal(dockerLogin.code, 0, dockerLogin.stderr);
      assert.match(dockerLogin.stdout, /Login Succeeded/);
      const dockerPull = await d.docker(["pull", `${secured.host}/team/bb:1`], { env: dockerEnv });
      assert.equal(dockerPull.code, 0, dockerPull.stderr);
    } finally {
      await secured.stop();
    }
  });
});
