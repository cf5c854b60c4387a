import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { type TestDaemon, useDaemon } from "../helpers/daemon";

/** The real docker CLI against wharfd: docker volume … and run -v / --mount / --tmpfs / --volumes-from. */

describe("docker CLI: volumes and mounts", () => {
  let d: TestDaemon;
  useDaemon((daemon) => (d = daemon));

  const ok = async (args: string[]): Promise<string> => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = async (args: string[], pattern: RegExp): Promise<void> => {
    const r = await d.docker(args);
    assert.notEqual(r.code, 0, `docker ${args.join(" ")} should fail`);
    assert.match(r.stderr, pattern);
  };

  test("docker volume create/ls/inspect/rm with labels, options, filters and formats", async () => {
    assert.equal(await ok(["volume", "create", "--label", "app=web", "dv1"]), "dv1\n");
    assert.equal(await ok(["volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "dv2"]), "dv2\n");
    const ls = await ok(["volume", "ls"]);
    assert.match(ls, /^DRIVER\s+VOLUME NAME\nlocal\s+dv1\nlocal\s+dv2\n$/);
    assert.equal(await ok(["volume", "ls", "-q", "-f", "label=app=web"]), "dv1\n");
    assert.equal(await ok(["volume", "ls", "--format", "{{.Name}}:{{.Labels}}", "-f", "name=dv1"]), "dv1:app=web\n");
    const inspect = JSON.parse(await ok(["volume", "inspect", "dv1", "dv2"])) as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(inspect[0]).sort(), ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]);
    assert.deepEqual(inspect[0].Labels, { app: "web" });
    assert.equal(inspect[0].Mountpoint, path.join(d.dataRoot, "volumes", "dv1", "_data"));
    assert.deepEqual(inspect[1].Options, { type: "tmpfs", device: "tmpfs", o: "size=1m" });
    assert.equal(await ok(["volume", "inspect", "-f", "{{.Driver}} {{.Scope}}", "dv1"]), "local local\n");
    await fails(["volume", "create", "no/slash"], /"no\/slash" includes invalid characters for a local volume name/);
    await fails(["volume", "inspect", "nope"], /no such volume/);
    assert.equal(await ok(["volume", "rm", "dv1", "dv2"]), "dv1\ndv2\n");
    assert.equal(await ok(["volume", "ls", "-q"]), "");
  });

  test("docker run -v NAME / --mount / --tmpfs / --volumes-from; inspect Mounts; rm while in use; rm -v", async () => {
    await ok(["run", "--rm", "-v", "ddata:/data", "busybox", "sh", "-c", "echo persisted > /data/f"]);
    assert.equal(await ok(["run", "--rm", "--mount", "source=ddata,target=/m,readonly", "busybox", "cat", "/m/f"]), "persisted\n");
    const ro = await d.docker(["run", "--rm", "-v", "ddata:/data:ro", "busybox", "touch", "/data/g"]);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    await ok(["run", "-d", "--name", "dholder", "-v", "ddata:/data", "-v", "/anon", "--tmpfs", "/run/t:size=1m", "busybox", "sleep", "300"]);
    const mounts = JSON.parse(await ok(["inspect", "-f", "{{json .Mounts}}", "dholder"])) as Array<Record<string, unknown>>;
    const named = mounts.find((m) => m.Destination === "/data");
    assert.deepEqual(named, { Type: "volume", Name: "ddata", Source: path.join(d.dataRoot, "volumes", "ddata", "_data"), Destination: "/data", Driver: "local", Mode: "z", RW: true, Propagation: "" });
    const anon = mounts.find((m) => m.Destination === "/anon");
    assert.match(String(anon?.Name), /^[0-9a-f]{64}$/);
    assert.equal(mounts.length, 2, "--tmpfs mounts are not listed, as in Docker");
    assert.equal(await ok(["run", "--rm", "--volumes-from", "dholder:ro", "busybox", "cat", "/data/f"]), "persisted\n");
    await fails(["volume", "rm", "ddata"], /remove ddata: volume is in use - \[[0-9a-f]{64}\]/);
    assert.equal(await ok(["ps", "-q", "--filter", "volume=/anon"]).then((s) => s.trim().length), 12);
    await ok(["rm", "-f", "-v", "dholder"]);
    assert.equal(await ok(["volume", "ls", "-q"]), "ddata\n", "rm -v removed the anonymous volume only");
    await fails(["run", "--rm", "--mount", "type=bind,source=/no/such/dir,target=/x", "busybox", "true"], /invalid mount config for type "bind": bind source path does not exist: \/no\/such\/dir/);
    // --pull never: the docker CLI takes any 404 from create for a missing image and would
    // otherwise try Docker Hub (as it does against dockerd).
    await fails(["run", "--rm", "--pull", "never", "--volumes-from", "ghost", "busybox", "true"], /No such container: ghost/);
    await fails(["run", "--rm", "--mount", "type=volume,target=/x,bogus=1", "busybox", "true"], /unexpected key 'bogus'/);
  });

  test("docker run -v with a missing host path creates it; docker volume prune and system df", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-vol-e2e-"));
    try {
      const host = path.join(base, "new", "dir");
      await ok(["run", "--rm", "-v", `${host}:/h`, "busybox", "sh", "-c", "echo hi > /h/x"]);
      assert.equal(fs.readFileSync(path.join(host, "x"), "utf8"), "hi\n");
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
    const anon = (await ok(["volume", "create"])).trim();
    const df = await ok(["system", "df"]);
    assert.match(df, /Local Volumes\s+2\s+0\s+/);
    const prune = await ok(["volume", "prune", "-f"]);
    assert.match(prune, new RegExp(`Deleted Volumes:\\n${anon}\\n`));
    assert.equal(await ok(["volume", "ls", "-q"]), "ddata\n", "docker volume prune keeps named volumes");
    const all = await ok(["volume", "prune", "-af"]);
    assert.match(all, /Deleted Volumes:\nddata\n/);
    assert.equal(await ok(["volume", "ls", "-q"]), "");
  });
});
