import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { AccessPolicy, Htpasswd, parseBasic, parseScope, TokenIssuer } from "../../src/registry/server/auth";
import { RegistryError } from "../../src/registry/server/errors";
import { checkManifest, DOCKER_LIST, OCI_INDEX, OCI_MANIFEST } from "../../src/registry/server/manifest";
import { isTag, parseDigest, validName } from "../../src/registry/server/names";
import { splitAddr } from "../../src/registry/server/server";
import bcrypt from "bcryptjs";

const D = (c: string): string => `sha256:${c.repeat(64)}`;

test("repository names, tags and digests follow the distribution spec", () => {
  for (const ok of ["a", "library/busybox", "a.b_c__d---e/f", "x/y/z", "0"]) assert.ok(validName(ok), ok);
  for (const bad of ["", "A", "a/../b", "a//b", "/a", "a/", "-a", "a-", "a..b", "a/_b", "a b", "x".repeat(256)]) assert.ok(!validName(bad), bad);
  assert.ok(isTag("v1.0_rc-2") && isTag("_x") && isTag("A".repeat(128)));
  assert.ok(!isTag(".x") && !isTag("-x") && !isTag("A".repeat(129)) && !isTag("a/b") && !isTag(""));
  assert.equal(parseDigest(D("a"))?.hex, "a".repeat(64));
  assert.equal(parseDigest(`sha512:${"b".repeat(128)}`)?.algorithm, "sha512");
  for (const bad of [`sha256:${"A".repeat(64)}`, "sha256:abc", `md5:${"a".repeat(32)}`, `sha256:${"a".repeat(63)}g`, "sha256", ":abc"]) assert.equal(parseDigest(bad), null, bad);
});

test("manifest validation: media types, shapes, references", () => {
  const image = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D("c"), size: 2 },
    layers: [
      { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D("1"), size: 3 },
      { mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", digest: D("2"), size: 3, urls: ["http://x"] },
    ],
    subject: { mediaType: OCI_MANIFEST, digest: D("5"), size: 9 },
  };
  const checked = checkManifest(Buffer.from(JSON.stringify(image)), OCI_MANIFEST);
  assert.equal(checked.mediaType, OCI_MANIFEST);
  assert.deepEqual(checked.blobs.map((b) => b.digest), [D("c"), D("1")]);
  assert.equal(checked.subject?.digest, D("5"));
  // no mediaType field: the header decides, or the shape
  const { mediaType: _m, ...bare } = image;
  assert.equal(checkManifest(Buffer.from(JSON.stringify(bare)), undefined).mediaType, OCI_MANIFEST);
  assert.equal(checkManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), undefined).mediaType, OCI_INDEX);
  const list = checkManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ mediaType: OCI_MANIFEST, digest: D("9"), size: 1 }] })), DOCKER_LIST);
  assert.deepEqual(list.manifests.map((m) => m.digest), [D("9")]);
  const invalid = (body: unknown, type?: string): void =>
    assert.throws(() => checkManifest(Buffer.from(typeof body === "string" ? body : JSON.stringify(body)), type), (e: unknown) => e instanceof RegistryError && e.code === "MANIFEST_INVALID");
  invalid("{");
  invalid("null");
  invalid({ ...image, schemaVersion: 1 });
  invalid({ ...image, mediaType: "text/plain" }, "text/plain");
  invalid(image, OCI_INDEX);
  invalid({ ...image, config: { ...image.config, digest: "sha256:nope" } });
  invalid({ ...image, config: { ...image.config, size: -1 } });
  invalid({ ...image, layers: "x" });
  invalid({ ...image, artifactType: 3 });
});

test("htpasswd (bcrypt $2y$/$2b$), basic header, scopes", async () => {
  const h = new Htpasswd(`# c\nann:${bcrypt.hashSync("pw", 4).replace("$2b$", "$2y$")}\n\nben:${bcrypt.hashSync("x", 4)}\n`);
  assert.equal(await h.check("ann", "pw"), true);
  assert.equal(await h.check("ann", "pw"), true); // cached
  assert.equal(await h.check("ann", "px"), false);
  assert.equal(await h.check("ben", "x"), true);
  assert.equal(await h.check("nobody", "x"), false);
  assert.throws(() => new Htpasswd("md5user:$apr1$abc$def\n"), /only bcrypt/);
  assert.deepEqual(parseBasic(`Basic ${Buffer.from("u:p:q").toString("base64")}`), { user: "u", password: "p:q" });
  assert.equal(parseBasic("Bearer x"), null);
  assert.deepEqual(parseScope("repository:a/b:pull,push"), { type: "repository", name: "a/b", actions: ["pull", "push"] });
  assert.deepEqual(parseScope("repository(plugin):a:pull"), { type: "repository", name: "a", actions: ["pull"] });
  assert.deepEqual(parseScope("registry:catalog:*"), { type: "registry", name: "catalog", actions: ["*"] });
  assert.equal(parseScope("nonsense"), null);
});

test("access policy: defaults, anonymous pull, access lists", () => {
  const open = new AccessPolicy(undefined, false);
  assert.deepEqual([...open.allowed("u", "repository", "a")].sort(), ["delete", "pull", "push"]);
  assert.deepEqual([...open.allowed(null, "repository", "a")], []);
  assert.deepEqual(open.grant("u", [{ type: "registry", name: "catalog", actions: ["*"] }]), [{ type: "registry", name: "catalog", actions: ["*"] }]);
  const anon = new AccessPolicy(undefined, true);
  assert.deepEqual(anon.grant(null, [{ type: "repository", name: "a", actions: ["pull", "push"] }]), [{ type: "repository", name: "a", actions: ["pull"] }]);
  const acl = new AccessPolicy([{ account: "ann", name: "team/*", actions: ["pull", "push"] }, { account: "*", name: "public/*", actions: ["pull"] }], false);
  assert.deepEqual([...acl.allowed("ann", "repository", "team/x")].sort(), ["pull", "push"]);
  assert.deepEqual([...acl.allowed("ann", "repository", "teamx")], []);
  assert.deepEqual([...acl.allowed("ben", "repository", "public/y")], ["pull"]);
  assert.deepEqual([...acl.allowed(null, "repository", "public/y")], []);
});

test("tokens: ES256 and RS256 sign and verify; tampering, audience and expiry are caught", () => {
  for (const [type, opts] of [["ec", { namedCurve: "P-256" }], ["rsa", { modulusLength: 2048 }]] as const) {
    const pem = generateKeyPairSync(type as "ec", opts as { namedCurve: string }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const issuer = new TokenIssuer(pem, "iss", "svc", 60);
    assert.equal(issuer.alg, type === "ec" ? "ES256" : "RS256");
    const { token } = issuer.issue("ann", [{ type: "repository", name: "a", actions: ["pull"] }]);
    const claims = issuer.verify(token);
    assert.equal(claims?.sub, "ann");
    assert.deepEqual(claims?.access, [{ type: "repository", name: "a", actions: ["pull"] }]);
    const [h, p, s] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: "root" })).toString("base64url");
    assert.equal(issuer.verify(`${h}.${forged}.${s}`), null);
    assert.equal(issuer.verify(`${h}.${p}`), null);
    assert.equal(new TokenIssuer(pem, "iss", "other", 60).verify(token), null);
    assert.equal(new TokenIssuer(pem, "other", "svc", 60).verify(token), null);
    const expired = new TokenIssuer(pem, "iss", "svc", -1).issue("ann", []).token;
    assert.equal(issuer.verify(expired), null);
    const noneAlg = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${p}.`;
    assert.equal(issuer.verify(noneAlg), null);
  }
  const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  assert.throws(() => new TokenIssuer(p384, "i", "s", 1), /P-256/);
});

test("listen addresses", () => {
  assert.deepEqual(splitAddr("127.0.0.1:5000"), { host: "127.0.0.1", port: 5000 });
  assert.deepEqual(splitAddr(":5000"), { host: "0.0.0.0", port: 5000 });
  assert.deepEqual(splitAddr("[::1]:5000"), { host: "::1", port: 5000 });
  assert.throws(() => splitAddr("5000"), /HOST:PORT/);
});
