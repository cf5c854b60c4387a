import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTar } from "../helpers/images";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

/**
 * Hostile build contexts and images: symlinks in the context that point at host files,
 * symlinks in the image that point at host directories, and archives whose entries climb out.
 * A build may fail or may copy the container's own files, but it never reads a host file into
 * an image and never writes on the host.
 */

const T = 120_000;

describe("build: hostile contexts and images never reach the host", { timeout: 600_000 }, () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));
  let work: string;
  let hostSecret: string;
  let hostTarget: string;
  const secret = randomBytes(12).toString("hex");
  before(() => {
    // under the test daemon's /tmp/wharf-test-* dir, so a leftover would be found
    work = fs.mkdtempSync(path.join(path.dirname(d.dataRoot), "hostile-"));
    hostSecret = path.join(work, "host-secret");
    fs.writeFileSync(hostSecret, `${secret}\n`, { mode: 0o600 });
    hostTarget = path.join(work, "host-target");
    fs.mkdirSync(hostTarget);
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  function context(name: string, dockerfile: string): string {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "Dockerfile"), dockerfile);
    fs.writeFileSync(path.join(dir, "file"), "from the context\n");
    return dir;
  }

  /** The build's result: either it failed, or the image holds no host secret. */
  async function imageHasNoSecret(image: string, file: string): Promise<void> {
    const r = await d.docker(["run", "--rm", "--pull", "never", image, "sh", "-c", `cat ${file} 2>/dev/null; true`]);
    assert.doesNotMatch(r.stdout, new RegExp(secret), "a host file was copied into the image");
  }

  it("symlinks in the context to host files (absolute and climbing) are not followed onto the host", { timeout: T }, async () => {
    const dir = context("ctx-links", "FROM busybox\nCOPY abs /abs\nCOPY rel /rel\nCOPY linkdir/ /linkdir/\n");
    fs.symlinkSync(hostSecret, path.join(dir, "abs"));
    fs.symlinkSync(path.relative(dir, hostSecret), path.join(dir, "rel"));
    fs.symlinkSync(work, path.join(dir, "linkdir"));
    for (const cli of ["docker", "wharf"] as const) {
      const tag = `hostile-links-${cli}`;
      const env = { DOCKER_BUILDKIT: "0" };
      const r = cli === "docker" ? await d.docker(["build", "-q", "-t", tag, dir], { env }) : await d.wharf(["build", "-q", "-t", tag, dir]);
      if (r.code === 0) {
        for (const f of ["/abs", "/rel", "/linkdir/host-secret"]) await imageHasNoSecret(tag, f);
        await d.wharf(["rmi", "-f", tag]);
      } else {
        assert.doesNotMatch(r.stdout + r.stderr, new RegExp(secret));
      }
    }
  });

  it("a symlink in the image to a host directory: COPY and RUN write inside the image", { timeout: T }, async () => {
    const dir = context("ctx-image-link", `FROM busybox\nRUN mkdir -p ${hostTarget} && ln -s ${hostTarget} /evil && ln -s ../../../../../../${hostTarget} /evil-rel\nCOPY file /evil/\nCOPY file /evil-rel/copied-rel\nWORKDIR /evil\nRUN echo run > ran\n`);
    const r = await d.wharf(["build", "-q", "-t", "hostile-image-link", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(hostTarget), [], "nothing was written into the host's directory");
    const inside = await d.docker(["run", "--rm", "--pull", "never", "hostile-image-link", "ls", hostTarget]);
    assert.deepEqual(inside.stdout.trim().split("\n").sort(), ["copied-rel", "file", "ran"]);
    await d.wharf(["rmi", "-f", "hostile-image-link"]);
  });

  it("ADD of an archive whose entries climb out or go through a symlink stays inside the image", { timeout: T }, async () => {
    const dir = context("ctx-tar", "FROM busybox\nADD evil.tar /unpacked/\n");
    const depth = "../".repeat(12);
    fs.writeFileSync(
      path.join(dir, "evil.tar"),
      await makeTar([
        { name: `${depth}${hostTarget.slice(1)}/climbed`, data: "x" },
        { name: `${hostTarget.slice(1)}/absolute`, data: "x" },
        { name: "out", type: "symlink", linkname: hostTarget },
        { name: "out/through-link", data: "x" },
      ]),
    );
    const r = await d.wharf(["build", "-q", "-t", "hostile-tar", dir]);
    if (r.code === 0) await d.wharf(["rmi", "-f", "hostile-tar"]);
    assert.deepEqual(fs.readdirSync(hostTarget), [], "nothing was written into the host's directory");
  });
});
