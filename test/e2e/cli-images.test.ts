/** `wharf` image commands against a real private wharfd; every command bounded by timeoutMs. */
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureBusybox, startDaemon, TestDaemon } from "../helpers/daemon";

let d: TestDaemon;
let tmp: string;
const T = { timeoutMs: 60_000 };

before(async () => {
  d = await startDaemon();
  await ensureBusybox(d);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-cli-images-"));
});

after(async () => {
  await d?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("images lists busybox with docker's columns", async () => {
  const r = await d.wharf(["images"], T);
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split("\n");
  assert.match(header, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
  assert.ok(rows.some((l) => /^busybox +latest +[0-9a-f]{12} +\S.* +\d[\d.]*[kMG]?B$/.test(l)), r.stdout);
  const fmt = "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}";
  const ours = await d.wharf(["images", "--format", fmt], T);
  const theirs = await d.docker(["images", "--format", fmt], T);
  assert.equal(ours.stdout, theirs.stdout);
  const quiet = await d.wharf(["images", "-q", "busybox"], T);
  assert.match(quiet.stdout, /^[0-9a-f]{12}\n$/);
});

test("tag, image inspect, rmi", async () => {
  const tag = await d.wharf(["tag", "busybox", "e2e/tagged:v1"], T);
  assert.deepEqual(tag, { code: 0, stdout: "", stderr: "" });
  const listed = await d.wharf(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], T);
  assert.ok(listed.stdout.split("\n").includes("e2e/tagged:v1"), listed.stdout);

  const inspect = await d.wharf(["image", "inspect", "e2e/tagged:v1"], T);
  assert.equal(inspect.code, 0, inspect.stderr);
  const [img] = JSON.parse(inspect.stdout) as Array<{ Id: string; RepoTags: string[] }>;
  assert.ok(img.RepoTags.includes("e2e/tagged:v1"));
  const typed = await d.wharf(["inspect", "--type", "image", "--format", "{{.Id}}", "e2e/tagged:v1"], T);
  assert.equal(typed.stdout, `${img.Id}\n`);

  const rmi = await d.wharf(["rmi", "e2e/tagged:v1"], T);
  assert.deepEqual(rmi, { code: 0, stdout: "Untagged: e2e/tagged:v1\n", stderr: "" });
  const missing = await d.wharf(["rmi", "e2e/tagged:v1"], T);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error response from daemon: No such image: e2e\/tagged:v1/);
  const forced = await d.wharf(["rmi", "-f", "e2e/tagged:v1"], T);
  assert.equal(forced.code, 0);
});

test("inspect of something that does not exist", async () => {
  const r = await d.wharf(["inspect", "e2e-nothing-here"], T);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "[]\n");
  assert.equal(r.stderr, "Error: No such object: e2e-nothing-here\n");
});

test("history", async () => {
  const r = await d.wharf(["history", "busybox"], T);
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trimEnd().split("\n");
  assert.match(header, /^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
  assert.ok(rows.length >= 1);
  const quiet = await d.wharf(["history", "-q", "busybox"], T);
  assert.equal(quiet.stdout.trimEnd().split("\n").length, rows.length);
  const fmt = "{{.ID}} {{.CreatedBy}} {{.Size}} {{.Comment}}";
  const ours = await d.wharf(["history", "--format", fmt, "busybox"], T);
  const theirs = await d.docker(["history", "--format", fmt, "busybox"], T);
  assert.equal(ours.stdout, theirs.stdout);
});

test("save -o, rmi, load -i round trip", async () => {
  await d.wharf(["tag", "busybox", "e2e/saved:1"], T);
  const file = path.join(tmp, "saved.tar");
  const save = await d.wharf(["save", "-o", file, "e2e/saved:1"], T);
  assert.deepEqual(save, { code: 0, stdout: "", stderr: "" });
  assert.ok(fs.statSync(file).size > 1024);
  await d.wharf(["rmi", "e2e/saved:1"], T);
  const load = await d.wharf(["load", "-i", file], T);
  assert.equal(load.code, 0, load.stderr);
  assert.match(load.stdout, /Loaded image: e2e\/saved:1\n/);
  const stdin = await d.wharf(["load"], { ...T, input: fs.readFileSync(file) });
  assert.equal(stdin.code, 0, stdin.stderr);
  assert.match(stdin.stdout, /Loaded image/);
  await d.wharf(["rmi", "e2e/saved:1"], T);
});

test("save to stdout when it is not a terminal", async () => {
  const r = await d.wharf(["save", "busybox"], T);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 1024);
});

test("import a rootfs tarball", async () => {
  const root = path.join(tmp, "rootfs");
  fs.mkdirSync(path.join(root, "etc"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc", "hello"), "hi\n");
  const tarFile = path.join(tmp, "rootfs.tar");
  const tar = spawnSync("tar", ["-C", root, "-cf", tarFile, "."]);
  assert.equal(tar.status, 0);
  const r = await d.wharf(["import", "-m", "e2e import", "-c", "ENV X=1", tarFile, "e2e/imported:1"], T);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const env = await d.wharf(["image", "inspect", "--format", "{{.Config.Env}}", "e2e/imported:1"], T);
  assert.match(env.stdout, /X=1/);
  const fromStdin = await d.wharf(["import", "-", "e2e/imported:2"], { ...T, input: fs.readFileSync(tarFile) });
  assert.match(fromStdin.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const rmi = await d.wharf(["rmi", "e2e/imported:1", "e2e/imported:2"], T);
  assert.equal(rmi.code, 0, rmi.stderr);
});

test("image prune -f reports what it reclaimed", async () => {
  const r = await d.wharf(["image", "prune", "-f"], T);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Total reclaimed space: \S+\n$/);
});
