import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseDockerfile } from "../../src/engine/build/dockerfile";
import { BuildOutput } from "../../src/engine/build/output";
import { decodeRegistryConfig } from "../../src/engine/build/registry-config";
import { parseRunMounts } from "../../src/engine/build/run-mounts";
import { planStages } from "../../src/engine/build/stages";
import type { BuildMessage } from "../../src/engine/build/types";
import { decodeBuildSecrets, encodeBuildSecrets } from "../../src/lib/build-secrets";

function runIns(line: string): ReturnType<typeof parseDockerfile>["instructions"][number] {
  return parseDockerfile(`FROM busybox\n${line}\n`).instructions[1];
}

test("RUN --mount: BuildKit's options, defaults, expansion and relative targets", () => {
  const env = new Map([["CACHE_ID", "go"]]);
  const [cache, secret, bind, tmpfs] = parseRunMounts(
    runIns("RUN --mount=type=cache,id=$CACHE_ID,target=cache,sharing=locked,uid=1,gid=2,mode=0700,ro --mount=type=secret,id=tok,required --mount=target=/src,rw --mount=type=tmpfs,dst=/t,size=1m true"),
    env,
    "/work",
  );
  assert.deepEqual(
    [cache.type, cache.id, cache.target, cache.sharing, cache.uid, cache.gid, cache.mode, cache.readonly],
    ["cache", "go", "/work/cache", "locked", 1, 2, 0o700, true],
  );
  assert.deepEqual([secret.type, secret.id, secret.target, secret.required], ["secret", "tok", "/run/secrets/tok", true]);
  assert.deepEqual([bind.type, bind.target, bind.readonly, bind.from], ["bind", "/src", false, undefined]);
  assert.deepEqual([tmpfs.type, tmpfs.target, tmpfs.size], ["tmpfs", "/t", 1024 * 1024]);
  // A cache's id defaults to its target; a secret with env= only has no target.
  assert.equal(parseRunMounts(runIns("RUN --mount=type=cache,target=/c true"), env, "/")[0].id, "/c");
  const envOnly = parseRunMounts(runIns("RUN --mount=type=secret,id=k,env=KEY true"), env, "/")[0];
  assert.deepEqual([envOnly.target, envOnly.env], ["", "KEY"]);
});

test("RUN --mount: bad input names the line", () => {
  const bad: Array<[string, RegExp]> = [
    ["RUN --mount=type=nfs,target=/x true", /dockerfile parse error on line 2: .*unsupported mount type "nfs"/],
    ["RUN --mount=type=cache,target=/x,foo=1 true", /line 2: .*unexpected key 'foo'/],
    ["RUN --mount=type=bind,target=/x,sharing=locked true", /line 2: .*option 'sharing' is not valid for type=bind/],
    ["RUN --mount=type=cache,target=/x,uid=abc true", /line 2: .*invalid value for uid: abc/],
    ["RUN --mount=type=cache,target=/x,mode=999 true", /line 2: .*invalid value for mode: 999/],
    ["RUN --mount=type=cache,target=/ true", /line 2: .*mount target can not be \//],
    ["RUN --mount=type=ssh true", /line 2: .*"ssh" is not supported/],
    ["RUN --mount=type=cache,target=/x,mode=77777 true", /line 2: .*invalid value for mode: 77777/],
    ["RUN --mount=type=secret,id=../etc true", /line 2: .*invalid secret id "..\/etc"/],
    ["RUN --mount=type=cache,target=/x --mount=type=tmpfs,target=/x true", /line 2: duplicate mount target \/x/],
  ];
  for (const [line, re] of bad) assert.throws(() => parseRunMounts(runIns(line), new Map(), "/"), re, line);
});

test("stage planning: RUN --mount from= makes a dependency; independent stages are not ordered", () => {
  const plan = planStages(
    parseDockerfile(["FROM busybox AS a", "RUN true", "FROM busybox AS b", "RUN --mount=type=bind,from=a,target=/a true", "FROM busybox AS unused", "FROM busybox AS c", "RUN true", "FROM busybox", "COPY --from=b /x /x", "COPY --from=c /y /y"].join("\n")),
    { buildArgs: {}, labels: {} },
  );
  assert.deepEqual(plan.order.map((s) => s.name ?? String(s.index)), ["a", "b", "c", "4"]);
  assert.deepEqual([...(plan.dependsOn.get(1) ?? [])], [0]);
  assert.deepEqual([...(plan.dependsOn.get(3) ?? [])], []);
  assert.deepEqual([...(plan.dependsOn.get(4) ?? [])].sort(), [1, 3]);
  assert.equal(plan.totalSteps, 9);
});

test("build output: one stage streams live, a parallel one's lines come as a block when it takes over", () => {
  const got: string[] = [];
  const out = new BuildOutput((m: BuildMessage) => {
    if ("stream" in m) got.push(m.stream);
  }, false);
  const a = out.stage(0);
  const b = out.stage(1);
  a.emit("a1\n");
  b.emit("b1\n");
  a.emit("a2\n");
  b.emit("b2\n");
  assert.deepEqual(got, ["a1\n", "a2\n"]);
  a.done();
  assert.deepEqual(got, ["a1\n", "a2\n", "b1\n", "b2\n"]);
  b.emit("b3\n");
  b.done();
  out.emit("end\n");
  assert.deepEqual(got.slice(4), ["b3\n", "end\n"]);
});

test("X-Registry-Config: by registry domain, docker's auth field read, Docker Hub's names folded", () => {
  const header = Buffer.from(
    JSON.stringify({
      "https://index.docker.io/v1/": { username: "hub", password: "p1" },
      "127.0.0.1:5000": { auth: Buffer.from("alice:pw:with:colons").toString("base64") },
      "empty.example": {},
    }),
  ).toString("base64url");
  const creds = decodeRegistryConfig(header);
  assert.deepEqual(creds.get("docker.io"), { username: "hub", password: "p1", identityToken: undefined, registryToken: undefined });
  assert.equal(creds.get("127.0.0.1:5000")?.password, "pw:with:colons");
  assert.equal(creds.has("empty.example"), false);
  assert.throws(() => decodeRegistryConfig("%%%"), /X-Registry-Config/);
});

test("build secrets header: round trip; bad ids refused without echoing values", () => {
  const secrets = new Map([["tok", Buffer.from("v\u0000bin")]]);
  assert.deepEqual(decodeBuildSecrets(encodeBuildSecrets(secrets)), secrets);
  const bad = Buffer.from(JSON.stringify({ "../x": Buffer.from("hidden").toString("base64") })).toString("base64");
  assert.throws(() => decodeBuildSecrets(bad), (err: Error) => !err.message.includes("hidden"));
});
