import assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import { type Descriptor, imageManifestSchema, indexSchema, isIndex, MEDIA, pickPlatform } from "../../src/engine/images/manifest";
import { RegistryError } from "../../src/registry/server/errors";
import { checkManifest, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from "../../src/registry/server/manifest";
import { fuzzParams } from "./fuzz-settings";

/**
 * Manifests, both ends: what the registry server accepts on push (checkManifest), and how a
 * pull reads what a registry sends (index or manifest, the platform pick). Any document gets
 * an answer or the registry's MANIFEST_INVALID; a well-formed one is always accepted, with
 * exactly the blobs it references.
 */

const hex = fc.stringMatching(/^[a-f0-9]{64}$/);
const digest = fc.oneof({ weight: 5, arbitrary: hex.map((h) => `sha256:${h}`) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });
const mediaTypes = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "text/plain", ""];
const platform = fc.record({ os: fc.constantFrom("linux", "windows", ""), architecture: fc.constantFrom("amd64", "arm64", "arm", ""), variant: fc.option(fc.constantFrom("v7", "v8"), { nil: undefined }) }, { requiredKeys: ["os", "architecture"] });
const descriptor = fc.record(
  {
    mediaType: fc.constantFrom(...mediaTypes),
    digest,
    size: fc.oneof(fc.nat(), fc.constant(-1), fc.double(), fc.constant("12")),
    urls: fc.array(fc.webUrl(), { maxLength: 1 }),
    platform,
  },
  { requiredKeys: ["digest"] },
);

/** Manifest-shaped documents with any of their parts missing or of the wrong kind. */
const manifestLike = fc.record(
  {
    schemaVersion: fc.constantFrom(1, 2, 3, "2"),
    mediaType: fc.constantFrom(...mediaTypes),
    config: fc.oneof(descriptor, fc.constant(null), fc.string()),
    layers: fc.oneof(fc.array(descriptor, { maxLength: 4 }), fc.constant({})),
    manifests: fc.oneof(fc.array(descriptor, { maxLength: 4 }), fc.constant("none")),
    subject: descriptor,
    artifactType: fc.oneof(fc.string(), fc.integer()),
  },
  { requiredKeys: [] },
);

const anyDocument = fc.oneof(manifestLike, fc.jsonValue({ maxDepth: 3 }));

function checkOrInvalid(body: Buffer, contentType: string | undefined): void {
  try {
    checkManifest(body, contentType);
  } catch (err) {
    assert.ok(err instanceof RegistryError, `not a registry error: ${String(err)}`);
    assert.equal(err.code, "MANIFEST_INVALID");
  }
}

test("registry server: any body, any Content-Type, is accepted or MANIFEST_INVALID", () => {
  fc.assert(
    fc.property(
      fc.oneof(anyDocument.map((doc) => Buffer.from(JSON.stringify(doc) ?? "null")), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b))),
      fc.option(fc.constantFrom(...mediaTypes, `${OCI_MANIFEST}; charset=utf-8`, "APPLICATION/JSON"), { nil: undefined }),
      checkOrInvalid,
    ),
    fuzzParams(),
  );
});

const goodDescriptor = fc.record({ mediaType: fc.constant("application/vnd.oci.image.layer.v1.tar+gzip"), digest: hex.map((h) => `sha256:${h}`), size: fc.nat() });

test("registry server: a well-formed image manifest is accepted with exactly its config and layers as blobs", () => {
  fc.assert(
    fc.property(goodDescriptor, fc.array(goodDescriptor, { maxLength: 6 }), fc.boolean(), (config, layers, withHeader) => {
      const doc = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, mediaType: "application/vnd.oci.image.config.v1+json" }, layers };
      const checked = checkManifest(Buffer.from(JSON.stringify(doc)), withHeader ? OCI_MANIFEST : undefined);
      assert.equal(checked.mediaType, OCI_MANIFEST);
      assert.deepEqual(
        checked.blobs.map((b) => b.digest),
        [config.digest, ...layers.map((l) => l.digest)],
      );
      assert.deepEqual(checked.manifests, []);
    }),
    fuzzParams(),
  );
});

test("pull: any document is read as an index or a manifest without throwing, and the platform pick only returns a match", () => {
  const want = { os: "linux", architecture: "amd64" };
  fc.assert(
    fc.property(anyDocument, fc.option(fc.constantFrom(...mediaTypes), { nil: undefined }), (doc, mediaType) => {
      if (isIndex(mediaType, doc)) {
        const parsed = indexSchema.safeParse(doc);
        if (!parsed.success) return;
        const chosen: Descriptor | undefined = pickPlatform(parsed.data.manifests, want);
        if (chosen) {
          assert.equal(chosen.platform?.os, want.os);
          assert.equal(chosen.platform?.architecture, want.architecture);
        }
      } else {
        const parsed = imageManifestSchema.safeParse(doc);
        if (parsed.success) assert.ok(Array.isArray(parsed.data.layers));
      }
    }),
    fuzzParams(),
  );
});
