import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type TestDaemon, succeeded, useDaemon } from "../helpers/daemon";
import { type DistributionRegistry, startDistributionRegistry } from "../helpers/distribution-registry";
import { type RegistryProc, startRegistry } from "../helpers/registry";

/**
 * Pushes to real registries on loopback — Debian's docker-registry (anonymous and with basic
 * auth) and wharf's own `registry serve` — checked by reading the registry back and by
 * pulling the image again into an empty place.
 */
describe("push to a registry", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  let reg: DistributionRegistry;
  let work: string;
  const ok = succeeded;
  const manifest = async (host: string, name: string, ref: string): Promise<{ digest: string; json: { layers: Array<{ digest: string; mediaType: string }> } }> => {
    const res = await fetch(`http://${host}/v2/${name}/manifests/${ref}`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } });
    assert.equal(res.status, 200, `${name}:${ref} is in the registry`);
    return { digest: res.headers.get("docker-content-digest") ?? "", json: (await res.json()) as { layers: Array<{ digest: string; mediaType: string }> } };
  };

  before(async () => {
    reg = await startDistributionRegistry();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-push-"));
  });
  after(async () => {
    await reg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("push uploads layers, config and a schema-2 manifest; the image pulls back and runs; a second push reuses", async () => {
    ok(await d.wharf(["run", "--name", "ps-src", "busybox", "sh", "-c", "echo pushed-data > /data"]));
    ok(await d.wharf(["commit", "ps-src", `${reg.host}/pt/app:1`]));
    ok(await d.wharf(["rm", "ps-src"]));
    const out = ok(await d.wharf(["push", `${reg.host}/pt/app:1`]));
    assert.match(out, new RegExp(`^The push refers to repository \\[${reg.host}/pt/app\\]$`, "m"));
    assert.equal(out.match(/: Pushed$/gm)?.length, 2, out);
    const line = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(out);
    assert.ok(line, out);
    const remote = await manifest(reg.host, "pt/app", "1");
    assert.equal(remote.digest, line[1]);
    assert.ok(remote.json.layers.every((l) => l.mediaType === "application/vnd.docker.image.rootfs.diff.tar.gzip"));
    const repoDigests = ok(await d.wharf(["inspect", "-f", "{{json .RepoDigests}}", `${reg.host}/pt/app:1`]));
    assert.ok(repoDigests.includes(`${reg.host}/pt/app@${line[1]}`), repoDigests);

    const again = ok(await d.wharf(["push", `${reg.host}/pt/app:1`]));
    assert.equal(again.match(/: Layer already exists$/gm)?.length, 2, again);
    assert.match(again, new RegExp(`^1: digest: ${line[1]} size: ${line[2]}$`, "m"), "the same manifest, byte for byte");

    // Another repository on the same registry gets the layers by a cross-repository mount.
    ok(await d.wharf(["tag", `${reg.host}/pt/app:1`, `${reg.host}/pt/copy:1`]));
    const mounted = ok(await d.wharf(["push", `${reg.host}/pt/copy:1`]));
    assert.equal(mounted.match(/: Mounted from pt\/app$/gm)?.length, 2, mounted);

    // Gone locally, back from the registry, and it runs.
    ok(await d.wharf(["rmi", `${reg.host}/pt/app:1`, `${reg.host}/pt/copy:1`]));
    ok(await d.wharf(["pull", `${reg.host}/pt/app:1`]));
    assert.equal(ok(await d.wharf(["run", "--rm", `${reg.host}/pt/app:1`, "cat", "/data"])), "pushed-data\n");
  });

  test("a large layer goes up in chunks; the docker CLI pushes through wharfd; errors are Docker's", async () => {
    ok(await d.wharf(["run", "--name", "ps-big", "busybox", "sh", "-c", "head -c 20000000 /dev/urandom > /big && md5sum /big > /big.md5"]));
    ok(await d.wharf(["commit", "ps-big", `${reg.host}/pt/big:1`]));
    ok(await d.wharf(["rm", "ps-big"]));
    const docker = await d.docker(["push", `${reg.host}/pt/big:1`]);
    assert.equal(docker.code, 0, docker.stderr);
    assert.match(docker.stdout, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
    ok(await d.wharf(["rmi", `${reg.host}/pt/big:1`]));
    ok(await d.wharf(["pull", `${reg.host}/pt/big:1`]));
    assert.match(ok(await d.wharf(["run", "--rm", `${reg.host}/pt/big:1`, "md5sum", "-c", "/big.md5"])), /\/big: OK/);

    const missing = await d.wharf(["push", `${reg.host}/pt/nothere:1`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`An image does not exist locally with the tag: ${reg.host}/pt/nothere`));
    const noRegistry = await d.wharf(["push", "127.0.0.1:1/pt/app:1"]);
    assert.equal(noRegistry.code, 1);
  });

  test("push with login to a basic-auth registry, and to wharf's own registry server", async () => {
    const secured = await startDistributionRegistry({ user: "bob", password: "pw" });
    let own: RegistryProc | undefined;
    try {
      ok(await d.wharf(["tag", "busybox:latest", `${secured.host}/team/bb:1`]));
      const denied = await d.wharf(["push", `${secured.host}/team/bb:1`]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /unauthorized|authentication required/);
      const env = { DOCKER_CONFIG: path.join(work, "cfg") };
      ok(await d.wharf(["login", "-u", "bob", "--password-stdin", secured.host], { env, input: "pw\n" }));
      const pushed = await d.wharf(["push", `${secured.host}/team/bb:1`], { env });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stdout, /1: digest: sha256:/);

      own = await startRegistry();
      const host = `127.0.0.1:${own.port}`;
      ok(await d.wharf(["tag", "busybox:latest", `${host}/mine/bb:2`]));
      const toOwn = ok(await d.wharf(["push", `${host}/mine/bb:2`]));
      assert.match(toOwn, /2: digest: sha256:/);
      ok(await d.wharf(["rmi", `${host}/mine/bb:2`]));
      ok(await d.wharf(["pull", `${host}/mine/bb:2`]));
      assert.equal(ok(await d.wharf(["run", "--rm", `${host}/mine/bb:2`, "echo", "from-own-registry"])), "from-own-registry\n");
    } finally {
      await own?.stop();
      await secured.stop();
    }
  });
});
