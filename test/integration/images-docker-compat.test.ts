import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { importImage } from "../../src/engine/images/import";
import { loadImages } from "../../src/engine/images/load";
import { planSave, writeSave } from "../../src/engine/images/save";
import { mountsUnder, unmountAll } from "../../src/store/mounts";
import { imageFixture, makeTar, tempDir, within, type ImageFixture } from "../helpers/images";

/**
 * Compatibility with a real Docker 20.10 daemon (Debian's docker.io, run privately: own data
 * root, exec root and socket, no iptables, no bridge): what wharf saves, Docker loads and runs
 * with the same image ids; what Docker saves, wharf loads with the same ids.
 */

const DOCKERD = "/usr/sbin/dockerd";
const DOCKER = "/usr/local/bin/docker";
const available = fs.existsSync(DOCKERD) && fs.existsSync(DOCKER);
const SCRIPT = path.resolve(__dirname, "../../../scripts/make-busybox-rootfs.sh");
const ENV = { ...process.env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

let work: string;
let socket: string;
let daemon: ChildProcess | undefined;
const fixtures: ImageFixture[] = [];

function docker(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      DOCKER,
      ["-H", `unix://${socket}`, ...args],
      { timeout: 120_000, maxBuffer: 16 << 20, env: { ...ENV, DOCKER_CONFIG: path.join(work, "docker-config") } },
      (err, stdout, stderr) => (err ? reject(new Error(`docker ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout)),
    );
  });
}

async function waitForDaemon(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await docker(["version", "--format", "{{.Server.Version}}"]);
      return;
    } catch (err) {
      if (Date.now() > deadline || daemon?.exitCode !== null) {
        const log = fs.readFileSync(path.join(work, "dockerd.log"), "utf8").slice(-2000);
        throw new Error(`dockerd did not come up: ${(err as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function sha(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("images: Docker 20.10 compatibility", { skip: !available && "dockerd 20.10 (docker.io) or the docker CLI is not installed" }, () => {
  let fx: ImageFixture;
  let busyboxId: string;
  let twoId: string;

  before(async () => {
    work = tempDir("docker-compat");
    socket = path.join(work, "docker.sock");
    const log = fs.openSync(path.join(work, "dockerd.log"), "w");
    daemon = spawn(
      DOCKERD,
      [
        `--data-root=${path.join(work, "docker-data")}`,
        `--exec-root=${path.join(work, "docker-exec")}`,
        `--pidfile=${path.join(work, "docker.pid")}`,
        `--host=unix://${socket}`,
        "--iptables=false",
        "--ip-masq=false",
        "--bridge=none",
        "--storage-driver=overlay2",
      ],
      { env: ENV, stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    await waitForDaemon();

    fx = imageFixture(path.join(work, "wharf"));
    fixtures.push(fx);
    const rootfs = execFileSync("bash", [SCRIPT], { timeout: 30_000, maxBuffer: 64 << 20 });
    busyboxId = (await importImage(fx.images, Readable.from([rootfs]), { repo: "busybox", changes: ['CMD ["sh"]'], created: "2000-01-01T00:00:00Z" })).id;
    // Two layers: busybox, then one with a whiteout, an opaque directory and a file.
    const top = await makeTar([
      { name: "etc/", type: "directory" },
      { name: "etc/.wh.group" },
      { name: "home/", type: "directory" },
      { name: "home/.wh..wh..opq" },
      { name: "home/new", data: "new" },
      { name: "hello", data: "hi\n", mode: 0o755 },
    ]);
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2001-01-01T00:00:00Z",
      config: { Cmd: ["cat", "/hello"] },
      rootfs: { type: "layers", diff_ids: [sha(rootfs), sha(top)] },
      history: [{ created: "2000-01-01T00:00:00Z", created_by: "busybox" }, { created: "2001-01-01T00:00:00Z", created_by: "top" }],
    });
    const archive = await makeTar([
      { name: "config.json", data: config },
      { name: "base/layer.tar", data: rootfs },
      { name: "top/layer.tar", data: top },
      { name: "manifest.json", data: JSON.stringify([{ Config: "config.json", RepoTags: ["two:layers"], Layers: ["base/layer.tar", "top/layer.tar"] }]) },
    ]);
    twoId = (await loadImages(fx.images, Readable.from([archive]))).images[0].id;
  });

  after(async () => {
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise<void>((resolve) => daemon?.once("exit", () => resolve()));
      daemon.kill("SIGTERM");
      const timer = setTimeout(() => daemon?.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (work) {
      for (const m of mountsUnder(work).reverse()) unmountAll(m);
      for (const f of fixtures) f.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it("docker load takes what wharf saves, with the same ids, and runs it", async () => {
    const archive = path.join(work, "wharf-save.tar");
    fs.writeFileSync(archive, await within(60_000, "save", collect(writeSave(fx.images, planSave(fx.images, ["busybox", "two:layers"])))));
    const out = await docker(["load", "-i", archive]);
    assert.match(out, /Loaded image: busybox:latest/);
    assert.match(out, /Loaded image: two:layers/);
    assert.equal((await docker(["image", "inspect", "--format", "{{.Id}}", "busybox"])).trim(), busyboxId);
    assert.equal((await docker(["image", "inspect", "--format", "{{.Id}}", "two:layers"])).trim(), twoId);
    assert.equal(await docker(["run", "--rm", "--network", "none", "busybox", "sh", "-c", "id -un; cat /etc/group | wc -l"]), "root\n3\n");
    // Docker sees the whiteout (no /etc/group) and the opaque /home (only "new").
    assert.equal(await docker(["run", "--rm", "--network", "none", "two:layers", "sh", "-c", "cat /hello; ls /home; test -e /etc/group || echo no-group"]), "hi\nnew\nno-group\n");
  });

  it("wharf loads what docker saves, with the same ids", async () => {
    const archive = path.join(work, "docker-save.tar");
    await docker(["save", "-o", archive, "busybox", "two:layers"]);
    const other = imageFixture(path.join(work, "wharf2"));
    fixtures.push(other);
    const result = await within(60_000, "load", loadImages(other.images, fs.createReadStream(archive)));
    assert.deepEqual(result.messages.sort(), ["Loaded image: busybox:latest", "Loaded image: two:layers"]);
    assert.equal(other.images.resolve("busybox").id, busyboxId);
    assert.equal(other.images.resolve("two:layers").id, twoId);
  });
});
