import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";
import { request, startRegistry } from "../helpers/registry";

/** Real clients against `wharf registry serve`: skopeo (copy, inspect, list-tags, delete) with no auth, basic auth and token auth. */

const hasSkopeo = spawnSync("skopeo", ["--version"]).status === 0;

function sha(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** An OCI image layout at `dir` with one image tagged `tag`: a one-layer (gzip tar) image. */
function writeOciLayout(dir: string, tag: string, content: string): { manifestDigest: string; layerDigest: string } {
  const blobs = path.join(dir, "blobs", "sha256");
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer | string): { digest: string; size: number } => {
    const digest = sha(data);
    fs.writeFileSync(path.join(blobs, digest.slice(7)), data);
    return { digest, size: Buffer.byteLength(data) };
  };
  // a tar with one file, made by tar(1) from a scratch directory
  const src = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-layer-"));
  try {
    fs.writeFileSync(path.join(src, "hello.txt"), content);
    const tar = spawnSync("tar", ["-C", src, "--owner=0", "--group=0", "--mtime=@0", "-cf", "-", "hello.txt"]);
    assert.equal(tar.status, 0);
    const layer = gzipSync(tar.stdout);
    const layerBlob = put(layer);
    const config = put(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Cmd: ["/bin/sh"] },
        rootfs: { type: "layers", diff_ids: [sha(tar.stdout)] },
      }),
    );
    const manifest = put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layerBlob }],
      }),
    );
    fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    fs.writeFileSync(
      path.join(dir, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }],
      }),
    );
    return { manifestDigest: manifest.digest, layerDigest: layerBlob.digest };
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

function skopeo(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("skopeo", args, { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: { status: number | null; stdout: string; stderr: string }): string {
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("registry interop: skopeo", { skip: !hasSkopeo && "skopeo is not installed" }, () => {
  let dir: string;
  let layout: string;
  let image: { manifestDigest: string; layerDigest: string };
  let htpasswd: string;
  let tokenKey: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-registry-interop-"));
    layout = path.join(dir, "layout");
    image = writeOciLayout(layout, "v1", "hello from wharf\n");
    htpasswd = path.join(dir, "htpasswd");
    fs.writeFileSync(htpasswd, `carol:${bcrypt.hashSync("s3cret", 5)}\n`);
    tokenKey = path.join(dir, "token.pem");
    fs.writeFileSync(tokenKey, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("copy, inspect, list-tags, copy between repositories, pull back, delete", async () => {
    const reg = await startRegistry();
    const host = `127.0.0.1:${reg.port}`;
    try {
      ok(skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${host}/interop/app:v1`));
      const inspect = JSON.parse(ok(skopeo("inspect", "--tls-verify=false", `docker://${host}/interop/app:v1`))) as {
        Digest: string;
        Layers: string[];
        Architecture: string;
        Os: string;
      };
      assert.equal(inspect.Digest, image.manifestDigest);
      assert.deepEqual(inspect.Layers, [image.layerDigest]);
      assert.equal(inspect.Architecture, "amd64");
      const raw = ok(skopeo("inspect", "--raw", "--tls-verify=false", `docker://${host}/interop/app:v1`));
      assert.equal(sha(raw), image.manifestDigest);
      ok(skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${host}/interop/app:v1`, `docker://${host}/interop/app:v2`));
      ok(skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${host}/interop/app:v1`, `docker://${host}/interop/copy:latest`));
      const tags = JSON.parse(ok(skopeo("list-tags", "--tls-verify=false", `docker://${host}/interop/app`))) as { Repository: string; Tags: string[] };
      assert.deepEqual(tags.Tags.sort(), ["v1", "v2"]);
      // the copy to another repository mounted the layer instead of uploading it again
      await new Promise((r) => setTimeout(r, 200));
      assert.match(reg.stderr(), /"method":"POST","uri":"\/v2\/interop\/copy\/blobs\/uploads\/\?[^"]*mount=sha256[^"]*","status":201/);
      // pull back into a directory and compare the layer byte for byte
      const out = path.join(dir, "pulled");
      ok(skopeo("copy", "--src-tls-verify=false", `docker://${host}/interop/copy:latest`, `dir:${out}`));
      assert.deepEqual(fs.readFileSync(path.join(out, image.layerDigest.slice(7))), fs.readFileSync(path.join(layout, "blobs", "sha256", image.layerDigest.slice(7))));
      // pull as an OCI layout too
      ok(skopeo("copy", "--src-tls-verify=false", `docker://${host}/interop/app:v2`, `oci:${path.join(dir, "pulled-oci")}:x`));
      // delete (by tag: skopeo resolves the digest and deletes the manifest, both tags go)
      ok(skopeo("delete", "--tls-verify=false", `docker://${host}/interop/app:v1`));
      const gone = skopeo("inspect", "--tls-verify=false", `docker://${host}/interop/app:v1`);
      assert.notEqual(gone.status, 0);
      assert.match(gone.stderr, /manifest unknown/);
      const copy = JSON.parse(ok(skopeo("inspect", "--tls-verify=false", `docker://${host}/interop/copy:latest`))) as { Digest: string };
      assert.equal(copy.Digest, image.manifestDigest);
      const catalog = (await request(reg.port, "GET", "/v2/_catalog")).json<{ repositories: string[] }>();
      assert.deepEqual(catalog.repositories, ["interop/app", "interop/copy"]);
    } finally {
      await reg.stop();
    }
  });

  test("basic auth: copy with --dest-creds, refused without", async () => {
    const reg = await startRegistry(["--htpasswd", htpasswd]);
    const host = `127.0.0.1:${reg.port}`;
    try {
      const refused = skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${host}/basic/app:v1`);
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /unauthorized|authentication required/i);
      const wrong = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "carol:wrong", `oci:${layout}:v1`, `docker://${host}/basic/app:v1`);
      assert.notEqual(wrong.status, 0);
      ok(skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "carol:s3cret", `oci:${layout}:v1`, `docker://${host}/basic/app:v1`));
      const inspect = JSON.parse(ok(skopeo("inspect", "--tls-verify=false", "--creds", "carol:s3cret", `docker://${host}/basic/app:v1`))) as { Digest: string };
      assert.equal(inspect.Digest, image.manifestDigest);
      assert.notEqual(skopeo("inspect", "--tls-verify=false", `docker://${host}/basic/app:v1`).status, 0);
      const tags = JSON.parse(ok(skopeo("list-tags", "--tls-verify=false", "--creds", "carol:s3cret", `docker://${host}/basic/app`))) as { Tags: string[] };
      assert.deepEqual(tags.Tags, ["v1"]);
      ok(skopeo("delete", "--tls-verify=false", "--creds", "carol:s3cret", `docker://${host}/basic/app:v1`));
    } finally {
      await reg.stop();
    }
  });

  test("token auth: skopeo follows the Bearer challenge to wharf's token endpoint", async () => {
    const reg = await startRegistry(["--htpasswd", htpasswd, "--token-key", tokenKey, "--allow-anonymous-pull"]);
    const host = `127.0.0.1:${reg.port}`;
    try {
      const refused = skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${host}/token/app:v1`);
      assert.notEqual(refused.status, 0);
      ok(skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "carol:s3cret", `oci:${layout}:v1`, `docker://${host}/token/app:v1`));
      await new Promise((r) => setTimeout(r, 200));
      assert.match(reg.stderr(), /"user":"carol","method":"GET","uri":"\/token\?[^"]*","status":200/);
      assert.match(reg.stderr(), /"user":"carol","method":"PUT","uri":"\/v2\/token\/app\/manifests\/v1","status":201/);
      // anonymous pull: no credentials needed to read
      const inspect = JSON.parse(ok(skopeo("inspect", "--tls-verify=false", `docker://${host}/token/app:v1`))) as { Digest: string };
      assert.equal(inspect.Digest, image.manifestDigest);
      const tags = JSON.parse(ok(skopeo("list-tags", "--tls-verify=false", `docker://${host}/token/app`))) as { Tags: string[] };
      assert.deepEqual(tags.Tags, ["v1"]);
      // but not to delete
      assert.notEqual(skopeo("delete", "--tls-verify=false", `docker://${host}/token/app:v1`).status, 0);
      ok(skopeo("delete", "--tls-verify=false", "--creds", "carol:s3cret", `docker://${host}/token/app:v1`));
      assert.notEqual(skopeo("inspect", "--tls-verify=false", `docker://${host}/token/app:v1`).status, 0);
    } finally {
      await reg.stop();
    }
  });
});

// ---- Docker 20.10's dockerd, private: own socket, data root, exec root; no bridge, no iptables --

const DOCKERD = "/usr/sbin/dockerd";
const hasDocker = fs.existsSync(DOCKERD) && spawnSync("docker", ["--version"]).status === 0;

describe("registry interop: docker push/pull through a private dockerd", { skip: !hasDocker && "dockerd or docker is not installed" }, () => {
  let dir: string;
  let sock: string;
  let dockerd: ReturnType<typeof import("node:child_process").spawn> | undefined;
  let htpasswd: string;
  let tokenKey: string;

  function docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("docker", ["-H", `unix://${sock}`, ...args], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, DOCKER_CONFIG: path.join(dir, "client") },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  function dockerIn(input: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("docker", ["-H", `unix://${sock}`, ...args], {
      encoding: "utf8",
      input,
      timeout: 60_000,
      env: { ...process.env, DOCKER_CONFIG: path.join(dir, "client") },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  before(async () => {
    const { spawn } = await import("node:child_process");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-dockerd-"));
    sock = path.join(dir, "docker.sock");
    fs.mkdirSync(path.join(dir, "client"));
    const log = fs.openSync(path.join(dir, "dockerd.log"), "w");
    dockerd = spawn(
      DOCKERD,
      [
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        `--data-root=${path.join(dir, "data")}`,
        `--exec-root=${path.join(dir, "exec")}`,
        `--pidfile=${path.join(dir, "dockerd.pid")}`,
        `-H=unix://${sock}`,
      ],
      { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    const deadline = Date.now() + 60_000;
    while (docker("version", "--format", "{{.Server.Version}}").status !== 0) {
      if (Date.now() > deadline || dockerd.exitCode !== null) {
        throw new Error(`dockerd did not start: ${fs.readFileSync(path.join(dir, "dockerd.log"), "utf8")}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    // a one-layer image made here: docker import of a tiny tar
    const src = path.join(dir, "src");
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, "hello.txt"), "hello from docker\n");
    const tar = spawnSync("tar", ["-C", src, "-cf", path.join(dir, "layer.tar"), "hello.txt"]);
    assert.equal(tar.status, 0);
    ok(docker("import", path.join(dir, "layer.tar"), "wharf-interop/app:v1"));
    htpasswd = path.join(dir, "htpasswd");
    fs.writeFileSync(htpasswd, `erin:${bcrypt.hashSync("pa55", 5)}\n`);
    tokenKey = path.join(dir, "token.pem");
    fs.writeFileSync(tokenKey, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
  });

  after(async () => {
    if (dockerd && dockerd.exitCode === null && dockerd.signalCode === null) {
      const exited = new Promise<void>((resolve) => dockerd!.once("exit", () => resolve()));
      dockerd.kill("SIGTERM");
      const timer = setTimeout(() => dockerd!.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) {
      // dockerd unmounts its layers on the way out; never delete through a mount
      const mounts = fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m) => m && m.startsWith(dir));
      for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("docker push, rmi, pull against the registry (no auth)", async () => {
    const reg = await startRegistry();
    const ref = `127.0.0.1:${reg.port}/docker/app:v1`;
    try {
      const id = ok(docker("image", "inspect", "--format", "{{.Id}}", "wharf-interop/app:v1")).trim();
      ok(docker("tag", "wharf-interop/app:v1", ref));
      const push = ok(docker("push", ref));
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
      assert.ok(digest, push);
      const head = await request(reg.port, "HEAD", "/v2/docker/app/manifests/v1", { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } });
      assert.equal(head.headers["docker-content-digest"], digest);
      assert.equal(head.headers["content-type"], "application/vnd.docker.distribution.manifest.v2+json");
      ok(docker("rmi", ref));
      ok(docker("rmi", "wharf-interop/app:v1"));
      const pull = ok(docker("pull", ref));
      assert.match(pull, new RegExp(`Digest: ${digest}`));
      assert.equal(ok(docker("image", "inspect", "--format", "{{.Id}}", ref)).trim(), id);
      ok(docker("tag", ref, "wharf-interop/app:v1"));
      // a second push of the same image: every blob is already there
      const again = ok(docker("push", ref));
      assert.match(again, /Layer already exists/);
    } finally {
      await reg.stop();
    }
  });

  test("docker login against token auth, then push and pull", async () => {
    const reg = await startRegistry(["--htpasswd", htpasswd, "--token-key", tokenKey]);
    const host = `127.0.0.1:${reg.port}`;
    const ref = `${host}/secure/app:v1`;
    try {
      ok(docker("tag", "wharf-interop/app:v1", ref));
      const refused = docker("push", ref);
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr + refused.stdout, /denied|unauthorized|authentication required/i);
      const bad = dockerIn("nope\n", "login", "-u", "erin", "--password-stdin", host);
      assert.notEqual(bad.status, 0);
      ok(dockerIn("pa55\n", "login", "-u", "erin", "--password-stdin", host));
      ok(docker("push", ref));
      ok(docker("rmi", ref));
      const pull = ok(docker("pull", ref));
      assert.match(pull, /Downloaded newer image|Image is up to date/);
      ok(docker("logout", host));
      ok(docker("rmi", ref));
      assert.notEqual(docker("pull", ref).status, 0);
      await new Promise((r) => setTimeout(r, 200));
      assert.match(reg.stderr(), /"user":"erin","method":"PUT","uri":"\/v2\/secure\/app\/manifests\/v1","status":201/);
    } finally {
      await reg.stop();
    }
  });
});

// ---- wharf's own client: a private wharfd pulls what skopeo pushed to wharf's registry ---------

describe("registry interop: wharf pull (private wharfd)", { skip: !hasSkopeo && "skopeo is not installed" }, () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  let work: string;
  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-registry-pull-"));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  test("wharf save -> skopeo push (schema 2 and OCI) -> wharf pull -> run", async () => {
    const reg = await startRegistry();
    const host = `127.0.0.1:${reg.port}`;
    try {
      const archive = path.join(work, "busybox.tar");
      const saved = await d.wharf(["save", "-o", archive, "busybox"]);
      assert.equal(saved.code, 0, saved.stderr);
      ok(skopeo("copy", "--dest-tls-verify=false", `docker-archive:${archive}`, `docker://${host}/lib/busybox:s2`));
      ok(skopeo("copy", "--dest-tls-verify=false", "--format", "oci", `docker-archive:${archive}`, `docker://${host}/lib/busybox:oci`));
      for (const tag of ["s2", "oci"]) {
        const pull = await d.wharf(["pull", `${host}/lib/busybox:${tag}`]);
        assert.equal(pull.code, 0, pull.stdout + pull.stderr);
        assert.match(pull.stdout, /^Digest: sha256:[0-9a-f]{64}$/m);
        const run = await d.wharf(["run", "--rm", "--network", "none", `${host}/lib/busybox:${tag}`, "echo", `pulled-${tag}`]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, `pulled-${tag}\n`);
      }
      // a tag the registry does not have: the registry's MANIFEST_UNKNOWN reaches the user
      const missing = await d.wharf(["pull", `${host}/lib/busybox:nope`]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /manifest unknown|not found/i);
    } finally {
      await reg.stop();
    }
  });
});
