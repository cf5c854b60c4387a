import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import bcrypt from "bcryptjs";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { errorCode, request, sha256, startRegistry, type RegistryProc, type Response } from "../helpers/registry";

/**
 * `wharf registry serve` driven with plain HTTP: every endpoint of the OCI distribution spec
 * and its error cases, storage safety (concurrent pushes, nothing stored on bad input), gc,
 * metrics, access log, read-only, basic and token auth, TLS.
 */

const WHARF = path.resolve(__dirname, "../../../bin/wharf");
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

async function pushBlob(port: number, name: string, data: Buffer | string, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha256(data);
  const res = await request(port, "POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    body: data,
    headers: { "Content-Type": "application/octet-stream", ...headers },
  });
  assert.equal(res.status, 201, res.text);
  return digest;
}

interface Image {
  manifest: Buffer;
  digest: string;
  config: string;
  layer: string;
}

async function pushImage(port: number, name: string, tag: string, seed = "x", headers: Record<string, string> = {}): Promise<Image> {
  const configBody = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, seed });
  const layerBody = Buffer.from(`layer-${seed}`);
  const config = await pushBlob(port, name, configBody, headers);
  const layer = await pushBlob(port, name, layerBody, headers);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: Buffer.byteLength(configBody) },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layer, size: layerBody.length }],
    }),
  );
  const res = await request(port, "PUT", `/v2/${name}/manifests/${tag}`, { body: manifest, headers: { "Content-Type": OCI_MANIFEST, ...headers } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers["docker-content-digest"], sha256(manifest));
  return { manifest, digest: sha256(manifest), config, layer };
}

function assertError(res: Response, status: number, code: string): void {
  assert.equal(res.status, status, `${res.status} ${res.text}`);
  assert.equal(errorCode(res), code, res.text);
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function dirEntries(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

describe("registry server (plain HTTP)", () => {
  let reg: RegistryProc;
  let port: number;
  before(async () => {
    reg = await startRegistry();
    port = reg.port;
  });
  after(async () => {
    await reg.stop();
  });

  test("base endpoint answers with the API version header", async () => {
    const res = await request(port, "GET", "/v2/");
    assert.equal(res.status, 200);
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    assert.deepEqual(res.json(), {});
  });

  test("monolithic blob push, HEAD, GET and Range requests", async () => {
    const data = Buffer.from("0123456789abcdef");
    const digest = await pushBlob(port, "mono/app", data);
    const head = await request(port, "HEAD", `/v2/mono/app/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], "16");
    assert.equal(head.headers["docker-content-digest"], digest);
    assert.equal(head.body.length, 0);
    const get = await request(port, "GET", `/v2/mono/app/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, data);
    const part = await request(port, "GET", `/v2/mono/app/blobs/${digest}`, { headers: { Range: "bytes=2-5" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers["content-range"], "bytes 2-5/16");
    assert.equal(part.text, "2345");
    const open = await request(port, "GET", `/v2/mono/app/blobs/${digest}`, { headers: { Range: "bytes=10-" } });
    assert.equal(open.status, 206);
    assert.equal(open.text, "abcdef");
    const suffix = await request(port, "GET", `/v2/mono/app/blobs/${digest}`, { headers: { Range: "bytes=-3" } });
    assert.equal(suffix.text, "def");
    const past = await request(port, "GET", `/v2/mono/app/blobs/${digest}`, { headers: { Range: "bytes=16-20" } });
    assertError(past, 416, "RANGE_INVALID");
    assert.equal(past.headers["content-range"], "bytes */16");
    const bad = await request(port, "GET", `/v2/mono/app/blobs/${digest}`, { headers: { Range: "bytes=5-2" } });
    assert.equal(bad.status, 416);
    const junk = await request(port, "GET", `/v2/mono/app/blobs/${digest}`, { headers: { Range: "lines=1-2" } });
    assert.equal(junk.status, 416);
    // the blob is not in another repository
    assertError(await request(port, "GET", `/v2/mono/other/blobs/${digest}`), 404, "BLOB_UNKNOWN");
  });

  test("a digest mismatch or malformed digest stores nothing", async () => {
    const wrong = sha256("something else");
    const res = await request(port, "POST", `/v2/mono/app/blobs/uploads/?digest=${wrong}`, { body: "payload" });
    assertError(res, 400, "DIGEST_INVALID");
    assert.equal((await request(port, "HEAD", `/v2/mono/app/blobs/${sha256("payload")}`)).status, 404);
    assert.equal(fs.existsSync(path.join(reg.root, "blobs", "sha256", sha256("payload").slice(7, 9), sha256("payload").slice(7))), false);
    assertError(await request(port, "POST", "/v2/mono/app/blobs/uploads/?digest=sha256:1234", { body: "x" }), 400, "DIGEST_INVALID");
    assertError(await request(port, "GET", "/v2/mono/app/blobs/md5:abc"), 400, "DIGEST_INVALID");
    assertError(await request(port, "GET", `/v2/mono/app/blobs/sha256:${"A".repeat(64)}`), 400, "DIGEST_INVALID");
    assert.deepEqual(dirEntries(path.join(reg.root, "uploads")), []);
  });

  test("monolithic push with a wrong Content-Length is SIZE_INVALID", async () => {
    // a short body: the server gets fewer bytes than announced when the client closes early
    const digest = sha256("abc");
    const res = await new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.write(`POST /v2/mono/app/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`);
        s.end();
      });
      let out = "";
      s.on("data", (d) => (out += d.toString()));
      s.on("close", () => resolve(out));
      s.on("error", () => resolve(out));
    });
    assert.doesNotMatch(res, /^HTTP\/1.1 201/);
    assert.equal((await request(port, "HEAD", `/v2/mono/app/blobs/${digest}`)).status, 404);
  });

  test("chunked upload with Content-Range, status, out-of-order chunk, final PUT", async () => {
    const start = await request(port, "POST", "/v2/chunked/app/blobs/uploads/");
    assert.equal(start.status, 202);
    const location = String(start.headers.location);
    const uuid = String(start.headers["docker-upload-uuid"]);
    assert.match(location, new RegExp(`^/v2/chunked/app/blobs/uploads/${uuid}$`));
    assert.equal(start.headers.range, "0-0");
    const p1 = await request(port, "PATCH", location, { body: "hello ", headers: { "Content-Range": "0-5", "Content-Type": "application/octet-stream" } });
    assert.equal(p1.status, 202, p1.text);
    assert.equal(p1.headers.range, "0-5");
    const status = await request(port, "GET", location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, "0-5");
    assert.equal(status.headers["docker-upload-uuid"], uuid);
    // a chunk that does not continue where the upload is
    const wrong = await request(port, "PATCH", location, { body: "zz", headers: { "Content-Range": "2-3" } });
    assertError(wrong, 416, "RANGE_INVALID");
    assert.equal(wrong.headers.range, "0-5");
    // Content-Range that disagrees with Content-Length
    assertError(await request(port, "PATCH", location, { body: "abc", headers: { "Content-Range": "6-10" } }), 416, "RANGE_INVALID");
    assertError(await request(port, "PATCH", location, { body: "abc", headers: { "Content-Range": "garbage" } }), 416, "RANGE_INVALID");
    // streamed chunk without Content-Range (docker's way), chunked transfer encoding
    const p2 = await request(port, "PATCH", location, { body: ["wor", "ld"] });
    assert.equal(p2.status, 202, p2.text);
    assert.equal(p2.headers.range, "0-10");
    const data = "hello world!";
    const digest = sha256(data);
    // PUT with a wrong digest: DIGEST_INVALID and the session is gone
    const put = await request(port, "PUT", `${location}?digest=${digest}`, { body: "!", headers: { "Content-Range": "11-11" } });
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers["docker-content-digest"], digest);
    assert.equal(put.headers.location, `/v2/chunked/app/blobs/${digest}`);
    const get = await request(port, "GET", `/v2/chunked/app/blobs/${digest}`);
    assert.equal(get.text, data);
    assertError(await request(port, "GET", location), 404, "BLOB_UPLOAD_UNKNOWN");
  });

  test("PUT without digest, wrong digest at the end, cancel, unknown and foreign sessions", async () => {
    const s1 = await request(port, "POST", "/v2/chunked/app/blobs/uploads/");
    const loc1 = String(s1.headers.location);
    assertError(await request(port, "PUT", loc1, { body: "" }), 400, "DIGEST_INVALID");
    await request(port, "PATCH", loc1, { body: "abc" });
    assertError(await request(port, "PUT", `${loc1}?digest=${sha256("abd")}`), 400, "DIGEST_INVALID");
    assertError(await request(port, "GET", loc1), 404, "BLOB_UPLOAD_UNKNOWN");

    const s2 = await request(port, "POST", "/v2/chunked/app/blobs/uploads/");
    const loc2 = String(s2.headers.location);
    const uuid2 = String(s2.headers["docker-upload-uuid"]);
    // another repository cannot use this session
    assertError(await request(port, "GET", `/v2/chunked/other/blobs/uploads/${uuid2}`), 404, "BLOB_UPLOAD_UNKNOWN");
    assert.equal((await request(port, "DELETE", loc2)).status, 204);
    assertError(await request(port, "GET", loc2), 404, "BLOB_UPLOAD_UNKNOWN");
    assertError(await request(port, "DELETE", loc2), 404, "BLOB_UPLOAD_UNKNOWN");
    assert.equal((await request(port, "PATCH", "/v2/chunked/app/blobs/uploads/../../x", { body: "a" })).status, 404);
    assertError(await request(port, "PATCH", "/v2/chunked/app/blobs/uploads/not-a-uuid", { body: "a" }), 404, "BLOB_UPLOAD_UNKNOWN");
    assert.deepEqual(dirEntries(path.join(reg.root, "uploads")), []);
  });

  test("manifests: PUT by tag and by digest, GET/HEAD with type, digest and length", async () => {
    const img = await pushImage(port, "man/app", "v1");
    for (const ref of ["v1", img.digest]) {
      const get = await request(port, "GET", `/v2/man/app/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
      assert.equal(get.status, 200);
      assert.equal(get.headers["content-type"], OCI_MANIFEST);
      assert.equal(get.headers["docker-content-digest"], img.digest);
      assert.equal(Number(get.headers["content-length"]), img.manifest.length);
      assert.deepEqual(get.body, img.manifest);
      const head = await request(port, "HEAD", `/v2/man/app/manifests/${ref}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers["docker-content-digest"], img.digest);
      assert.equal(Number(head.headers["content-length"]), img.manifest.length);
    }
    const byDigest = await request(port, "PUT", `/v2/man/app/manifests/${img.digest}`, { body: img.manifest, headers: { "Content-Type": OCI_MANIFEST } });
    assert.equal(byDigest.status, 201);
    assert.equal(byDigest.headers.location, `/v2/man/app/manifests/${img.digest}`);
    assertError(await request(port, "GET", "/v2/man/app/manifests/nope"), 404, "MANIFEST_UNKNOWN");
    assertError(await request(port, "GET", `/v2/man/app/manifests/${sha256("nope")}`), 404, "MANIFEST_UNKNOWN");
    assertError(await request(port, "GET", "/v2/man/never/manifests/v1"), 404, "NAME_UNKNOWN");
    // Docker schema 2 manifests and indexes
    const docker = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: img.config, size: 1 },
        layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: img.layer, size: 1 }],
      }),
    );
    assert.equal((await request(port, "PUT", "/v2/man/app/manifests/docker", { body: docker, headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json" } })).status, 201);
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length, platform: { os: "linux", architecture: "amd64" } }] }),
    );
    const pi = await request(port, "PUT", "/v2/man/app/manifests/multi", { body: index, headers: { "Content-Type": OCI_INDEX } });
    assert.equal(pi.status, 201, pi.text);
    assert.equal((await request(port, "GET", "/v2/man/app/manifests/multi")).headers["content-type"], OCI_INDEX);
    assert.equal((await request(port, "GET", "/v2/man/app/manifests/docker")).headers["content-type"], "application/vnd.docker.distribution.manifest.v2+json");
  });

  test("bad manifests are refused with the spec's codes and nothing is stored", async () => {
    const img = await pushImage(port, "bad/app", "good");
    const put = (ref: string, body: Buffer | string, type = OCI_MANIFEST): Promise<Response> =>
      request(port, "PUT", `/v2/bad/app/manifests/${ref}`, { body, headers: { "Content-Type": type } });
    assertError(await put("t1", "{not json"), 400, "MANIFEST_INVALID");
    assertError(await put("t1", JSON.stringify([1, 2])), 400, "MANIFEST_INVALID");
    assertError(await put("t1", JSON.stringify({ schemaVersion: 2, mediaType: "application/x-unknown", config: {}, layers: [] }), "application/x-unknown"), 400, "MANIFEST_INVALID");
    assertError(await put("t1", JSON.stringify({ schemaVersion: 1, name: "bad/app", tag: "t1", fsLayers: [] }), "application/vnd.docker.distribution.manifest.v1+json"), 400, "MANIFEST_INVALID");
    // Content-Type disagreeing with mediaType
    assertError(await put("t1", img.manifest, OCI_INDEX), 400, "MANIFEST_INVALID");
    const missingLayer = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: img.config, size: 1 },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256("not pushed"), size: 10 }],
    });
    assertError(await put("t1", missingLayer), 400, "MANIFEST_BLOB_UNKNOWN");
    const badDigest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: "sha256:xyz", size: 1 },
      layers: [],
    });
    assertError(await put("t1", badDigest), 400, "MANIFEST_INVALID");
    // index pointing at a manifest the repository lacks
    assertError(await put("t1", JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256("x"), size: 1 }] }), OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN");
    // PUT by a digest that is not the body's
    assertError(await put(sha256("other"), img.manifest), 400, "DIGEST_INVALID");
    assertError(await put("bad:tag", img.manifest), 400, "DIGEST_INVALID");
    assertError(await put("-bad", img.manifest), 400, "MANIFEST_INVALID");
    // oversized manifest: 4 MiB + 1
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const tooBig = await put("big", big);
    assertError(tooBig, 413, "SIZE_INVALID");
    // a manifest of exactly 4 MiB is read (and refused only for what it is)
    const padded = Buffer.concat([img.manifest.subarray(0, img.manifest.length - 1), Buffer.alloc(4 * 1024 * 1024 - img.manifest.length, 0x20), Buffer.from("}")]);
    assert.equal(padded.length, 4 * 1024 * 1024);
    assert.equal((await put("exactly4m", padded)).status, 201);
    const tags = (await request(port, "GET", "/v2/bad/app/tags/list")).json<{ tags: string[] }>().tags;
    assert.deepEqual(tags, ["exactly4m", "good"]);
    // the server still serves
    assert.equal((await request(port, "GET", "/v2/bad/app/manifests/good")).status, 200);
  });

  test("repository names are validated", async () => {
    for (const name of ["Upper/case", "a/../b", "a//b", "-lead", "trail-", "a/_layers", "x".repeat(256)]) {
      const res = await request(port, "GET", `/v2/${name}/tags/list`);
      assertError(res, 400, "NAME_INVALID");
    }
    assertError(await request(port, "POST", "/v2/UP/blobs/uploads/"), 400, "NAME_INVALID");
    assertError(await request(port, "PUT", "/v2/a/../../etc/manifests/latest", { body: "{}" }), 400, "NAME_INVALID");
    assert.ok(!fs.existsSync(path.join(reg.root, "repositories", "UP")));
  });

  test("tags/list and _catalog paginate with n, last and Link", async () => {
    const img = await pushImage(port, "page/app", "t0");
    for (const t of ["t1", "t2", "t3", "t4"]) {
      assert.equal((await request(port, "PUT", `/v2/page/app/manifests/${t}`, { body: img.manifest, headers: { "Content-Type": OCI_MANIFEST } })).status, 201);
    }
    const all = await request(port, "GET", "/v2/page/app/tags/list");
    assert.deepEqual(all.json(), { name: "page/app", tags: ["t0", "t1", "t2", "t3", "t4"] });
    const p1 = await request(port, "GET", "/v2/page/app/tags/list?n=2");
    assert.deepEqual(p1.json().tags, ["t0", "t1"]);
    assert.equal(p1.headers.link, '</v2/page/app/tags/list?n=2&last=t1>; rel="next"');
    const p2 = await request(port, "GET", "/v2/page/app/tags/list?n=2&last=t1");
    assert.deepEqual(p2.json().tags, ["t2", "t3"]);
    const p3 = await request(port, "GET", "/v2/page/app/tags/list?n=2&last=t3");
    assert.deepEqual(p3.json().tags, ["t4"]);
    assert.equal(p3.headers.link, undefined);
    assert.deepEqual((await request(port, "GET", "/v2/page/app/tags/list?n=0")).json().tags, []);
    assertError(await request(port, "GET", "/v2/page/app/tags/list?n=-1"), 400, "PAGINATION_NUMBER_INVALID");
    assertError(await request(port, "GET", "/v2/page/none/tags/list"), 404, "NAME_UNKNOWN");

    await pushImage(port, "page/zzz", "v");
    const cat = await request(port, "GET", "/v2/_catalog");
    const repos = cat.json<{ repositories: string[] }>().repositories;
    assert.ok(repos.includes("page/app") && repos.includes("page/zzz"));
    assert.deepEqual(repos, [...repos].sort());
    const c1 = await request(port, "GET", "/v2/_catalog?n=1");
    assert.equal(c1.json().repositories.length, 1);
    assert.match(String(c1.headers.link), /^<\/v2\/_catalog\?n=1&last=[^>]+>; rel="next"$/);
    const after = await request(port, "GET", `/v2/_catalog?last=page/app`);
    assert.ok(after.json().repositories.includes("page/zzz"));
    assert.ok(!after.json().repositories.includes("page/app"));
  });

  test("cross-repository mount", async () => {
    const digest = await pushBlob(port, "mount/src", "shared layer");
    const ok = await request(port, "POST", `/v2/mount/dst/blobs/uploads/?mount=${digest}&from=mount/src`);
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.headers.location, `/v2/mount/dst/blobs/${digest}`);
    assert.equal(ok.headers["docker-content-digest"], digest);
    assert.equal((await request(port, "GET", `/v2/mount/dst/blobs/${digest}`)).text, "shared layer");
    // not in the source repository: an upload session instead
    const fallback = await request(port, "POST", `/v2/mount/dst/blobs/uploads/?mount=${sha256("absent")}&from=mount/src`);
    assert.equal(fallback.status, 202);
    assert.ok(fallback.headers["docker-upload-uuid"]);
    await request(port, "DELETE", String(fallback.headers.location));
    assertError(await request(port, "POST", `/v2/mount/dst/blobs/uploads/?mount=${digest}&from=Bad..Name`), 400, "NAME_INVALID");
  });

  test("referrers API with artifactType filtering", async () => {
    const img = await pushImage(port, "ref/app", "v1");
    const emptyConfig = await pushBlob(port, "ref/app", "{}");
    const sigLayer = await pushBlob(port, "ref/app", "signature bytes");
    const artifact = (type: string, note: string): Buffer =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: type,
          config: { mediaType: "application/vnd.oci.empty.v1+json", digest: emptyConfig, size: 2 },
          layers: [{ mediaType: "application/octet-stream", digest: sigLayer, size: 15 }],
          subject: { mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length },
          annotations: { note },
        }),
      );
    const sig = artifact("application/vnd.example.signature", "sig");
    const sbom = artifact("application/vnd.example.sbom", "sbom");
    for (const a of [sig, sbom]) {
      const res = await request(port, "PUT", `/v2/ref/app/manifests/${sha256(a)}`, { body: a, headers: { "Content-Type": OCI_MANIFEST } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["oci-subject"], img.digest);
    }
    const all = await request(port, "GET", `/v2/ref/app/referrers/${img.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers["content-type"], OCI_INDEX);
    const index = all.json<{ schemaVersion: number; mediaType: string; manifests: { digest: string; artifactType: string; size: number; annotations: Record<string, string> }[] }>();
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [sha256(sig), sha256(sbom)].sort());
    const sigDesc = index.manifests.find((m) => m.digest === sha256(sig))!;
    assert.equal(sigDesc.artifactType, "application/vnd.example.signature");
    assert.equal(sigDesc.size, sig.length);
    assert.deepEqual(sigDesc.annotations, { note: "sig" });
    const filtered = await request(port, "GET", `/v2/ref/app/referrers/${img.digest}?artifactType=application/vnd.example.sbom`);
    assert.equal(filtered.headers["oci-filters-applied"], "artifactType");
    assert.deepEqual(filtered.json().manifests.map((m: { digest: string }) => m.digest), [sha256(sbom)]);
    // a subject nobody refers to: an empty index
    const none = await request(port, "GET", `/v2/ref/app/referrers/${sha256("nobody")}`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json().manifests, []);
    assertError(await request(port, "GET", "/v2/ref/app/referrers/sha256:nothex"), 400, "DIGEST_INVALID");
    // deleting a referrer takes it out of the list
    assert.equal((await request(port, "DELETE", `/v2/ref/app/manifests/${sha256(sig)}`)).status, 202);
    const afterDelete = await request(port, "GET", `/v2/ref/app/referrers/${img.digest}`);
    assert.deepEqual(afterDelete.json().manifests.map((m: { digest: string }) => m.digest), [sha256(sbom)]);
  });

  test("deletion of tags, manifests and blobs", async () => {
    const img = await pushImage(port, "del/app", "v1");
    await request(port, "PUT", "/v2/del/app/manifests/v2", { body: img.manifest, headers: { "Content-Type": OCI_MANIFEST } });
    assert.equal((await request(port, "DELETE", "/v2/del/app/manifests/v1")).status, 202);
    assertError(await request(port, "GET", "/v2/del/app/manifests/v1"), 404, "MANIFEST_UNKNOWN");
    assert.equal((await request(port, "GET", `/v2/del/app/manifests/${img.digest}`)).status, 200);
    assertError(await request(port, "DELETE", "/v2/del/app/manifests/v1"), 404, "MANIFEST_UNKNOWN");
    assert.equal((await request(port, "DELETE", `/v2/del/app/manifests/${img.digest}`)).status, 202);
    assertError(await request(port, "GET", `/v2/del/app/manifests/${img.digest}`), 404, "MANIFEST_UNKNOWN");
    assertError(await request(port, "GET", "/v2/del/app/manifests/v2"), 404, "MANIFEST_UNKNOWN");
    assert.deepEqual((await request(port, "GET", "/v2/del/app/tags/list")).json().tags, []);
    assertError(await request(port, "DELETE", `/v2/del/app/manifests/${img.digest}`), 404, "MANIFEST_UNKNOWN");
    assert.equal((await request(port, "DELETE", `/v2/del/app/blobs/${img.layer}`)).status, 202);
    assertError(await request(port, "GET", `/v2/del/app/blobs/${img.layer}`), 404, "BLOB_UNKNOWN");
    assertError(await request(port, "DELETE", `/v2/del/app/blobs/${img.layer}`), 404, "BLOB_UNKNOWN");
    assertError(await request(port, "DELETE", "/v2/del/app/blobs/sha256:zz"), 400, "DIGEST_INVALID");
  });

  test("concurrent pushes of the same blob are safe", async () => {
    const data = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const digest = sha256(data);
    const mono = Array.from({ length: 6 }, () => request(port, "POST", `/v2/conc/app/blobs/uploads/?digest=${digest}`, { body: data }));
    const chunked = Array.from({ length: 4 }, async () => {
      const s = await request(port, "POST", "/v2/conc/app/blobs/uploads/");
      const loc = String(s.headers.location);
      const half = data.length / 2;
      const a = await request(port, "PATCH", loc, { body: data.subarray(0, half), headers: { "Content-Range": `0-${half - 1}` } });
      assert.equal(a.status, 202);
      const b = await request(port, "PATCH", loc, { body: data.subarray(half), headers: { "Content-Range": `${half}-${data.length - 1}` } });
      assert.equal(b.status, 202);
      return request(port, "PUT", `${loc}?digest=${digest}`);
    });
    const results = await Promise.all([...mono, ...chunked]);
    for (const r of results) assert.equal(r.status, 201, r.text);
    const get = await request(port, "GET", `/v2/conc/app/blobs/${digest}`);
    assert.equal(sha256(get.body), digest);
    assert.deepEqual(dirEntries(path.join(reg.root, "uploads")), []);
    assert.deepEqual(dirEntries(path.join(reg.root, "tmp")), []);
  });

  test("a slow client does not stop the server serving others", async () => {
    const slow = net.connect(port, "127.0.0.1");
    await new Promise((r) => slow.once("connect", r));
    slow.write("PATCH /v2/slow/app/blobs/uploads/x HTTP/1.1\r\nHost: x\r\n");
    const results = await Promise.all(Array.from({ length: 5 }, () => request(port, "GET", "/v2/")));
    for (const r of results) assert.equal(r.status, 200);
    slow.destroy();
  });

  test("unknown paths, methods and malformed escapes", async () => {
    assertError(await request(port, "GET", "/v2/x/app/manifests/%E0%A4%A"), 400, "DIGEST_INVALID");
    assert.equal((await request(port, "GET", "/v2/")).status, 200);
    assert.equal((await request(port, "GET", "/nothing")).status, 404);
    assertError(await request(port, "POST", "/v2/"), 405, "UNSUPPORTED");
    assertError(await request(port, "PATCH", "/v2/m/app/manifests/v1"), 405, "UNSUPPORTED");
  });

  test("metrics and the access log", async () => {
    const res = await request(port, "GET", "/metrics");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    assert.match(res.text, /^wharf_registry_http_requests_total\{method="GET",code="200"\} \d+$/m);
    assert.match(res.text, /^wharf_registry_http_requests_total\{method="PUT",code="201"\} \d+$/m);
    assert.match(res.text, /^wharf_registry_http_requests_total\{method="GET",code="404"\} \d+$/m);
    assert.match(res.text, /^wharf_registry_http_request_bytes_total [1-9]\d*$/m);
    assert.match(res.text, /^wharf_registry_http_response_bytes_total [1-9]\d*$/m);
    assert.match(res.text, /^# TYPE wharf_registry_http_request_duration_seconds histogram$/m);
    assert.match(res.text, /^wharf_registry_http_request_duration_seconds_bucket\{method="GET",route="blobs",le="\+Inf"\} \d+$/m);
    assert.match(res.text, /^wharf_registry_http_request_duration_seconds_count\{method="PUT",route="manifests"\} \d+$/m);
    await waitFor(() => reg.stderr().includes("/metrics"));
    const lines = reg.stderr().split("\n").filter((l) => l.startsWith("{"));
    assert.ok(lines.length > 20);
    const entries = lines.map((l) => JSON.parse(l) as { method: string; uri: string; status: number; bytesIn: number; durationMs: number });
    const push = entries.find((e) => e.method === "POST" && e.uri.startsWith("/v2/conc/app/blobs/uploads/?digest="));
    assert.ok(push);
    assert.equal(push.status, 201);
    assert.ok(push.bytesIn >= 2 * 1024 * 1024);
  });

  test("gc removes unreferenced blobs only (dry run first)", async () => {
    const img = await pushImage(port, "gc/app", "v1", "gc");
    const orphan = await pushBlob(port, "gc/app", "orphan blob for gc");
    const run = (...args: string[]) => spawnSync(process.execPath, [WHARF, "registry", "gc", "--root", reg.root, ...args], { encoding: "utf8" });
    const young = run("--dry-run");
    assert.equal(young.status, 0, young.stderr);
    assert.doesNotMatch(young.stdout, new RegExp(orphan.slice(7)));
    const dry = run("--dry-run", "--grace", "0s");
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would remove blob ${orphan}`));
    assert.doesNotMatch(dry.stdout, new RegExp(img.layer.slice(7)));
    assert.equal((await request(port, "HEAD", `/v2/gc/app/blobs/${orphan}`)).status, 200);
    const real = run("--grace", "0s");
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, new RegExp(`removing blob ${orphan}`));
    assert.equal((await request(port, "HEAD", `/v2/gc/app/blobs/${orphan}`)).status, 404);
    for (const d of [img.layer, img.config]) assert.equal((await request(port, "HEAD", `/v2/gc/app/blobs/${d}`)).status, 200);
    assert.equal((await request(port, "GET", "/v2/gc/app/manifests/v1")).status, 200);
    // a deleted manifest's blobs go at the next gc
    await request(port, "DELETE", `/v2/gc/app/manifests/${img.digest}`);
    const again = run("--grace", "0s");
    assert.match(again.stdout, new RegExp(`removing blob ${img.layer}`));
    assert.equal((await request(port, "HEAD", `/v2/gc/app/blobs/${img.layer}`)).status, 404);
    // other repositories' images survive
    assert.equal((await request(port, "GET", "/v2/man/app/manifests/v1")).status, 200);
  });
});

describe("registry server options", () => {
  test("--read-only refuses writes with UNSUPPORTED and serves reads", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-registry-ro-"));
    try {
      const rw = await startRegistry([], { root });
      await pushImage(rw.port, "ro/app", "v1");
      await rw.stop();
      const ro = await startRegistry(["--read-only"], { root });
      try {
        assert.equal((await request(ro.port, "GET", "/v2/ro/app/manifests/v1")).status, 200);
        assertError(await request(ro.port, "POST", "/v2/ro/app/blobs/uploads/"), 405, "UNSUPPORTED");
        assertError(await request(ro.port, "PUT", "/v2/ro/app/manifests/v2", { body: "{}" }), 405, "UNSUPPORTED");
        assertError(await request(ro.port, "DELETE", "/v2/ro/app/manifests/v1"), 405, "UNSUPPORTED");
      } finally {
        await ro.stop();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("kill -9 mid-upload: committed data intact, the session resumes after restart", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-registry-crash-"));
    try {
      const first = await startRegistry([], { root });
      const img = await pushImage(first.port, "crash/app", "v1", "crash");
      const data = Buffer.alloc(64 * 1024, 7);
      const s = await request(first.port, "POST", "/v2/crash/app/blobs/uploads/");
      const loc = String(s.headers.location);
      assert.equal((await request(first.port, "PATCH", loc, { body: data.subarray(0, 1000), headers: { "Content-Range": "0-999" } })).status, 202);
      // a chunk in flight when the server dies
      const inflight = net.connect(first.port, "127.0.0.1");
      inflight.on("error", () => undefined);
      await new Promise((r) => inflight.once("connect", r));
      inflight.write(`PATCH ${loc} HTTP/1.1\r\nHost: x\r\nContent-Length: ${data.length - 1000}\r\n\r\n`);
      inflight.write(data.subarray(1000, 5000));
      await new Promise((r) => setTimeout(r, 200));
      first.proc.kill("SIGKILL");
      await new Promise((r) => first.proc.once("exit", r));
      inflight.destroy();
      const second = await startRegistry([], { root });
      try {
        const get = await request(second.port, "GET", "/v2/crash/app/manifests/v1");
        assert.equal(get.status, 200);
        assert.deepEqual(get.body, img.manifest);
        assert.equal((await request(second.port, "GET", `/v2/crash/app/blobs/${img.layer}`)).text, "layer-crash");
        // the session is still there with what was written; continue where it stands
        const status = await request(second.port, "GET", loc);
        assert.equal(status.status, 204);
        const have = Number(String(status.headers.range).split("-")[1]) + 1;
        assert.ok(have >= 1000 && have <= 5000, String(have));
        const rest = await request(second.port, "PATCH", loc, { body: data.subarray(have), headers: { "Content-Range": `${have}-${data.length - 1}` } });
        assert.equal(rest.status, 202, rest.text);
        const put = await request(second.port, "PUT", `${loc}?digest=${sha256(data)}`);
        assert.equal(put.status, 201, put.text);
        assert.equal(sha256((await request(second.port, "GET", `/v2/crash/app/blobs/${sha256(data)}`)).body), sha256(data));
      } finally {
        await second.stop();
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("--headers-timeout closes a connection that never finishes its headers", async () => {
    const reg = await startRegistry(["--headers-timeout", "1s"]);
    try {
      const slow = net.connect(reg.port, "127.0.0.1");
      slow.on("error", () => undefined);
      slow.write("GET /v2/ HTTP/1.1\r\nHost: x\r\n");
      const t0 = Date.now();
      const answer = await new Promise<string>((resolve) => {
        let out = "";
        slow.on("data", (d) => (out += d.toString()));
        slow.on("close", () => resolve(out));
      });
      assert.ok(Date.now() - t0 < 5000);
      assert.match(answer, /^(HTTP\/1.1 408|$)/);
      assert.equal((await request(reg.port, "GET", "/v2/")).status, 200);
    } finally {
      await reg.stop();
    }
  });

  test("--max-concurrent-requests answers TOOMANYREQUESTS past the limit", async () => {
    const reg = await startRegistry(["--max-concurrent-requests", "1"]);
    try {
      const s = await request(reg.port, "POST", "/v2/busy/app/blobs/uploads/");
      const loc = String(s.headers.location);
      // a PATCH that stays in flight
      const held = net.connect(reg.port, "127.0.0.1");
      await new Promise((r) => held.once("connect", r));
      held.write(`PATCH ${loc} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc`);
      await new Promise((r) => setTimeout(r, 300));
      const res = await request(reg.port, "GET", "/v2/");
      assertError(res, 429, "TOOMANYREQUESTS");
      assert.equal(res.headers["retry-after"], "1");
      held.destroy();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await request(reg.port, "GET", "/v2/")).status, 200);
    } finally {
      await reg.stop();
    }
  });

  test("--max-blob-size: a larger blob is SIZE_INVALID (413), monolithic or chunked, and nothing stays", async () => {
    const reg = await startRegistry(["--max-blob-size", "1KiB"]);
    try {
      const data = Buffer.alloc(1500, 1);
      assertError(await request(reg.port, "POST", `/v2/lim/app/blobs/uploads/?digest=${sha256(data)}`, { body: data }), 413, "SIZE_INVALID");
      const s = await request(reg.port, "POST", "/v2/lim/app/blobs/uploads/");
      const loc = String(s.headers.location);
      assert.equal((await request(reg.port, "PATCH", loc, { body: data.subarray(0, 1000) })).status, 202);
      assertError(await request(reg.port, "PATCH", loc, { body: data.subarray(1000) }), 413, "SIZE_INVALID");
      // the failed chunk was cut off again
      assert.equal((await request(reg.port, "GET", loc)).headers.range, "0-999");
      assert.equal((await request(reg.port, "HEAD", `/v2/lim/app/blobs/${sha256(data)}`)).status, 404);
      assert.equal((await request(reg.port, "GET", "/v2/")).status, 200);
    } finally {
      await reg.stop();
    }
  });

  test("--config file settings, flags override them", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-registry-cfg-"));
    try {
      const file = path.join(dir, "config.json");
      fs.writeFileSync(file, JSON.stringify({ readOnly: true, maxManifestSize: 1024, accessLog: "common" }));
      const reg = await startRegistry(["--config", file, "--read-only=false"]);
      try {
        const big = JSON.stringify({ schemaVersion: 2, pad: "x".repeat(2000) });
        assertError(await request(reg.port, "PUT", "/v2/cfg/app/manifests/v1", { body: big, headers: { "Content-Type": OCI_MANIFEST } }), 413, "SIZE_INVALID");
        await waitFor(() => reg.stderr().includes('"PUT /v2/cfg/app/manifests/v1 HTTP/1.1"'));
        assert.match(reg.stderr(), /^127\.0\.0\.1 - - \[[^\]]+\] "PUT \/v2\/cfg\/app\/manifests\/v1 HTTP\/1.1" 413 \d+$/m);
      } finally {
        await reg.stop();
      }
      fs.writeFileSync(file, JSON.stringify({ bogus: 1 }));
      const bad = spawnSync(process.execPath, [WHARF, "registry", "serve", "--config", file], { encoding: "utf8" });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /unknown setting "bogus"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

function jwtPart(token: string, i: number): any {
  return JSON.parse(Buffer.from(token.split(".")[i], "base64url").toString("utf8"));
}

describe("registry auth and TLS", () => {
  let dir: string;
  let htpasswd: string;
  let ecKey: string;
  let rsaKey: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-registry-auth-"));
    htpasswd = path.join(dir, "htpasswd");
    // htpasswd -B writes $2y$ entries
    fs.writeFileSync(htpasswd, `# users\nalice:${bcrypt.hashSync("secret", 5).replace(/^\$2b\$/, "$2y$")}\nbob:${bcrypt.hashSync("builder", 5)}\n`);
    ecKey = path.join(dir, "ec.pem");
    fs.writeFileSync(ecKey, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
    rsaKey = path.join(dir, "rsa.pem");
    fs.writeFileSync(rsaKey, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("htpasswd basic auth", async () => {
    const reg = await startRegistry(["--htpasswd", htpasswd]);
    try {
      const anon = await request(reg.port, "GET", "/v2/");
      assertError(anon, 401, "UNAUTHORIZED");
      assert.match(String(anon.headers["www-authenticate"]), /^Basic realm="[^"]+"$/);
      assertError(await request(reg.port, "GET", "/v2/", { headers: basic("alice", "wrong") }), 401, "UNAUTHORIZED");
      assertError(await request(reg.port, "GET", "/v2/", { headers: basic("nobody", "secret") }), 401, "UNAUTHORIZED");
      assert.equal((await request(reg.port, "GET", "/v2/", { headers: basic("alice", "secret") })).status, 200);
      await pushImage(reg.port, "auth/app", "v1", "a", basic("bob", "builder"));
      assert.equal((await request(reg.port, "GET", "/v2/auth/app/manifests/v1", { headers: basic("alice", "secret") })).status, 200);
      assertError(await request(reg.port, "GET", "/v2/auth/app/manifests/v1"), 401, "UNAUTHORIZED");
      assertError(await request(reg.port, "POST", "/v2/auth/app/blobs/uploads/"), 401, "UNAUTHORIZED");
      assertError(await request(reg.port, "GET", "/v2/_catalog"), 401, "UNAUTHORIZED");
      assert.deepEqual((await request(reg.port, "GET", "/v2/_catalog", { headers: basic("alice", "secret") })).json().repositories, ["auth/app"]);
      assertError(await request(reg.port, "GET", "/metrics"), 401, "UNAUTHORIZED");
      assert.match((await request(reg.port, "GET", "/metrics", { headers: basic("alice", "secret") })).body.toString(), /wharf_registry_http_requests_total/);
      await waitFor(() => reg.stderr().includes('"user":"alice"'));
      assert.match(reg.stderr(), /"user":"alice"/);
    } finally {
      await reg.stop();
    }
  });

  test("--allow-anonymous-pull with basic auth", async () => {
    const reg = await startRegistry(["--htpasswd", htpasswd, "--allow-anonymous-pull"]);
    try {
      await pushImage(reg.port, "anon/app", "v1", "b", basic("alice", "secret"));
      assert.equal((await request(reg.port, "GET", "/v2/anon/app/manifests/v1")).status, 200);
      assert.equal((await request(reg.port, "GET", "/v2/anon/app/tags/list")).status, 200);
      assertError(await request(reg.port, "POST", "/v2/anon/app/blobs/uploads/"), 401, "UNAUTHORIZED");
      assertError(await request(reg.port, "DELETE", "/v2/anon/app/manifests/v1"), 401, "UNAUTHORIZED");
      assertError(await request(reg.port, "GET", "/v2/_catalog"), 401, "UNAUTHORIZED");
    } finally {
      await reg.stop();
    }
  });

  test("an access list: DENIED for an authenticated user without the right", async () => {
    const cfg = path.join(dir, "acl.json");
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        acl: [
          { account: "alice", name: "*", actions: ["pull", "push", "delete"] },
          { account: "bob", name: "team/*", actions: ["pull"] },
        ],
      }),
    );
    const reg = await startRegistry(["--htpasswd", htpasswd, "--config", cfg]);
    try {
      await pushImage(reg.port, "team/app", "v1", "c", basic("alice", "secret"));
      assert.equal((await request(reg.port, "GET", "/v2/team/app/manifests/v1", { headers: basic("bob", "builder") })).status, 200);
      assertError(await request(reg.port, "POST", "/v2/team/app/blobs/uploads/", { headers: basic("bob", "builder") }), 403, "DENIED");
      assertError(await request(reg.port, "GET", "/v2/other/app/tags/list", { headers: basic("bob", "builder") }), 403, "DENIED");
    } finally {
      await reg.stop();
    }
  });

  for (const [alg, key] of [["ES256", () => ecKey], ["RS256", () => rsaKey]] as const) {
    test(`token auth (${alg}): challenges, scopes, token endpoint`, async () => {
      const reg = await startRegistry(["--htpasswd", htpasswd, "--token-key", key(), "--token-service", "test-registry"]);
      try {
        const base = await request(reg.port, "GET", "/v2/");
        assertError(base, 401, "UNAUTHORIZED");
        assert.equal(base.headers["www-authenticate"], `Bearer realm="http://127.0.0.1:${reg.port}/token",service="test-registry"`);
        const pull = await request(reg.port, "GET", "/v2/tok/app/manifests/v1");
        assertError(pull, 401, "UNAUTHORIZED");
        assert.equal(pull.headers["www-authenticate"], `Bearer realm="http://127.0.0.1:${reg.port}/token",service="test-registry",scope="repository:tok/app:pull"`);
        // wrong password at the token endpoint
        assertError(await request(reg.port, "GET", "/token?service=test-registry&scope=repository:tok/app:pull", { headers: basic("alice", "nope") }), 401, "UNAUTHORIZED");
        // a token for pull and push
        const tr = await request(reg.port, "GET", "/token?service=test-registry&scope=repository:tok/app:pull,push&scope=registry:catalog:*", { headers: basic("alice", "secret") });
        assert.equal(tr.status, 200, tr.text);
        const body = tr.json<{ token: string; access_token: string; expires_in: number; issued_at: string }>();
        assert.equal(body.token, body.access_token);
        assert.equal(body.expires_in, 300);
        assert.equal(jwtPart(body.token, 0).alg, alg);
        const claims = jwtPart(body.token, 1);
        assert.equal(claims.sub, "alice");
        assert.equal(claims.aud, "test-registry");
        assert.deepEqual(claims.access, [
          { type: "repository", name: "tok/app", actions: ["pull", "push"] },
          { type: "registry", name: "catalog", actions: ["*"] },
        ]);
        await pushImage(reg.port, "tok/app", "v1", "d", bearer(body.token));
        assert.equal((await request(reg.port, "GET", "/v2/tok/app/manifests/v1", { headers: bearer(body.token) })).status, 200);
        assert.equal((await request(reg.port, "GET", "/v2/_catalog", { headers: bearer(body.token) })).status, 200);
        // the token is for tok/app only, and has no delete
        const other = await request(reg.port, "GET", "/v2/tok/other/tags/list", { headers: bearer(body.token) });
        assertError(other, 401, "UNAUTHORIZED");
        assert.match(String(other.headers["www-authenticate"]), /scope="repository:tok\/other:pull",error="insufficient_scope"$/);
        assertError(await request(reg.port, "DELETE", "/v2/tok/app/manifests/v1", { headers: bearer(body.token) }), 401, "UNAUTHORIZED");
        // anonymous tokens carry nothing (no anonymous pull configured)
        const anonTok = (await request(reg.port, "GET", "/token?service=test-registry&scope=repository:tok/app:pull")).json<{ token: string }>().token;
        assert.deepEqual(jwtPart(anonTok, 1).access, []);
        assertError(await request(reg.port, "GET", "/v2/tok/app/manifests/v1", { headers: bearer(anonTok) }), 401, "UNAUTHORIZED");
        // a tampered token
        const parts = body.token.split(".");
        const forged = Buffer.from(JSON.stringify({ ...claims, access: [{ type: "repository", name: "tok/other", actions: ["pull"] }] })).toString("base64url");
        const bad = await request(reg.port, "GET", "/v2/tok/other/tags/list", { headers: bearer(`${parts[0]}.${forged}.${parts[2]}`) });
        assertError(bad, 401, "UNAUTHORIZED");
        assert.match(String(bad.headers["www-authenticate"]), /error="invalid_token"/);
        // a Basic header is not a token
        assertError(await request(reg.port, "GET", "/v2/tok/app/manifests/v1", { headers: basic("alice", "secret") }), 401, "UNAUTHORIZED");
        // OAuth2 password grant
        const oauth = await request(reg.port, "POST", "/token", {
          body: "grant_type=password&username=alice&password=secret&service=test-registry&scope=repository:tok/app:pull&client_id=test",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(oauth.status, 200, oauth.text);
        assert.equal((await request(reg.port, "GET", "/v2/tok/app/manifests/v1", { headers: bearer(oauth.json().access_token) })).status, 200);
        const refused = await request(reg.port, "POST", "/token", { body: "grant_type=password&username=alice&password=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
        assert.equal(refused.status, 401);
      } finally {
        await reg.stop();
      }
    });
  }

  test("token auth: expiry and anonymous pull", async () => {
    const reg = await startRegistry(["--htpasswd", htpasswd, "--token-key", ecKey, "--token-ttl", "1s", "--allow-anonymous-pull"]);
    try {
      const tok = (await request(reg.port, "GET", "/token?scope=repository:exp/app:pull,push", { headers: basic("alice", "secret") })).json<{ token: string }>().token;
      await pushImage(reg.port, "exp/app", "v1", "e", bearer(tok));
      // anonymous: pull without any token, and an anonymous token grants pull only
      assert.equal((await request(reg.port, "GET", "/v2/exp/app/manifests/v1")).status, 200);
      const anonTok = (await request(reg.port, "GET", "/token?scope=repository:exp/app:pull,push")).json<{ token: string }>().token;
      assert.deepEqual(jwtPart(anonTok, 1).access, [{ type: "repository", name: "exp/app", actions: ["pull"] }]);
      assertError(await request(reg.port, "POST", "/v2/exp/app/blobs/uploads/", { headers: bearer(anonTok) }), 401, "UNAUTHORIZED");
      await new Promise((r) => setTimeout(r, 2100));
      const expired = await request(reg.port, "POST", "/v2/exp/app/blobs/uploads/", { headers: bearer(tok) });
      assertError(expired, 401, "UNAUTHORIZED");
      assert.match(String(expired.headers["www-authenticate"]), /error="invalid_token"/);
    } finally {
      await reg.stop();
    }
  });

  test("TLS with --tls-cert/--tls-key", async () => {
    const cert = path.join(dir, "cert.pem");
    const key = path.join(dir, "key.pem");
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const reg = await startRegistry(["--tls-cert", cert, "--tls-key", key, "--htpasswd", htpasswd, "--token-key", ecKey], { tls: true });
    try {
      assert.match(reg.stderr(), /listening on https:\/\/127\.0\.0\.1:/);
      const res = await request(reg.port, "GET", "/v2/", { tls: true });
      assert.equal(res.status, 401);
      assert.match(String(res.headers["www-authenticate"]), /^Bearer realm="https:\/\/127\.0\.0\.1:\d+\/token"/);
      const tok = (await request(reg.port, "GET", "/token", { tls: true, headers: basic("alice", "secret") })).json<{ token: string }>().token;
      assert.equal((await request(reg.port, "GET", "/v2/", { tls: true, headers: bearer(tok) })).status, 200);
      // plain HTTP to the TLS port gets no registry answer
      await assert.rejects(request(reg.port, "GET", "/v2/").then((x) => (x.status === 200 ? x : Promise.reject(new Error("no")))));
    } finally {
      await reg.stop();
    }
  });
});
