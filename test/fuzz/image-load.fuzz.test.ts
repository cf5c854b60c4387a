import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import * as fc from "fast-check";
import { loadImages } from "../../src/engine/images/load";
import { isWharfError } from "../../src/lib/errors";
import { type ImageFixture, imageFixture, listTree, makeTar, type TarEntry } from "../helpers/images";
import { fuzzParams } from "./fuzz-settings";

/**
 * `load` parses everything a stranger's archive holds: manifest.json or an OCI index, configs,
 * digests, layer tars. A valid docker-save archive is taken apart and put back together with
 * random damage (broken or hostile JSON, names that climb out, wrong digests, symlinks in
 * place of files, truncated layers). Every archive must load or fail with a Docker-shaped
 * error, and a failed load must leave the store exactly as it was.
 */

let fx: ImageFixture;
before(() => (fx = imageFixture()));
after(() => {
  fx.close();
  fs.rmSync(fx.root, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

interface Parts {
  manifest: unknown;
  configName: string;
  config: Buffer;
  layerName: string;
  layer: Buffer;
  extra: TarEntry[];
}

async function validParts(): Promise<Parts> {
  const layer = await makeTar([{ name: "etc/", type: "directory" }, { name: "etc/hello", data: "hi\n" }]);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${sha(layer)}`] } }));
  const configName = `${sha(config)}.json`;
  const layerName = `${sha(layer)}/layer.tar`;
  return { manifest: [{ Config: configName, RepoTags: ["fuzz:latest"], Layers: [layerName] }], configName, config, layerName, layer, extra: [] };
}

type Damage = (p: Parts) => void;
const NAMES = ["../x", "/etc/passwd", "a/../../b", "", ".", "manifest.json", "blobs/sha256/" + "0".repeat(64)];
const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.constant<Damage>(() => undefined),
  fc.jsonValue({ maxDepth: 3 }).map<Damage>((v) => (p) => void (p.manifest = v)),
  fc.constantFrom(...NAMES).map<Damage>((n) => (p) => void ((p.manifest as Array<Record<string, unknown>>)[0].Config = n)),
  fc.constantFrom(...NAMES).map<Damage>((n) => (p) => void ((p.manifest as Array<Record<string, unknown>>)[0].Layers = [n])),
  fc.constantFrom("", "UPPER:1", "a@sha256:" + "0".repeat(64), "x:y:z", "fuzz").map<Damage>((t) => (p) => void ((p.manifest as Array<Record<string, unknown>>)[0].RepoTags = [t])),
  fc.jsonValue({ maxDepth: 3 }).map<Damage>((v) => (p) => void (p.config = Buffer.from(JSON.stringify(v)))),
  fc.nat({ max: 2000 }).map<Damage>((n) => (p) => void (p.layer = p.layer.subarray(0, n))),
  fc.constant<Damage>((p) => void (p.config = Buffer.from("{not json"))),
  fc.constantFrom("/etc/passwd", "../../../etc/shadow", "manifest.json").map<Damage>((target) => (p) => void p.extra.push({ name: p.layerName, type: "symlink", linkname: target })),
  fc.constant<Damage>((p) => void p.extra.push({ name: "index.json", data: '{"manifests":[{"digest":"sha256:' + "1".repeat(64) + '","size":-1}]}' })),
);

async function archive(p: Parts): Promise<Buffer> {
  // a symlink given for a name replaces the real entry of that name
  const replaced = new Set(p.extra.map((e) => e.name));
  const entries = ([
    { name: "manifest.json", data: JSON.stringify(p.manifest) },
    { name: p.configName, data: p.config },
    { name: path.posix.dirname(p.layerName) + "/", type: "directory" as const },
    { name: p.layerName, data: p.layer },
  ] satisfies TarEntry[]).filter((e) => !replaced.has(e.name));
  return makeTar([...entries, ...p.extra]);
}

test("any damaged archive loads or fails cleanly, and a failure leaves the store as it was", async () => {
  let loaded = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(damage, { maxLength: 3 }), async (damages) => {
      const parts = await validParts();
      for (const d of damages) {
        try {
          d(parts);
        } catch {
          // a damage that needs the manifest to be an array does nothing once it is not
        }
      }
      const images = fx.images.list().map((i) => i.Id).sort();
      const tree = listTree(fx.root).filter((p) => !p.startsWith("tmp") && !p.includes("metadata.db"));
      try {
        await loadImages(fx.images, Readable.from([await archive(parts)]));
        loaded++;
        for (const img of fx.images.list()) await fx.images.remove(img.Id, { force: true });
        await fx.images.gc();
      } catch (err) {
        assert.ok(isWharfError(err), `not a Docker-shaped error: ${String((err as Error).stack ?? err)}`);
        refused++;
        assert.deepEqual(fx.images.list().map((i) => i.Id).sort(), images);
        assert.deepEqual(listTree(fx.root).filter((p) => !p.startsWith("tmp") && !p.includes("metadata.db")), tree);
      }
    }),
    fuzzParams(200),
  );
  assert.ok(loaded > 0 && refused > 0, `loaded ${loaded}, refused ${refused}`);
});
