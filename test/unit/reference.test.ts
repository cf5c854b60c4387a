import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  familiarMatch,
  familiarName,
  familiarString,
  fullString,
  normalize,
  parseAnyReference,
  parseNormalizedNamed,
  repoTagReference,
  tagNameOnly,
} from "../../src/lib/reference";

const HEX = "a".repeat(64);

describe("reference: normalization", () => {
  const cases: Array<[string, string, string]> = [
    // input, fully qualified (default tag added), familiar (default tag added)
    ["busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"],
    ["index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["user/app:1.0", "docker.io/user/app:1.0", "user/app:1.0"],
    ["localhost/app", "localhost/app:latest", "localhost/app:latest"],
    ["localhost:5000/app:1", "localhost:5000/app:1", "localhost:5000/app:1"],
    ["127.0.0.1:5000/a/b/c:tag", "127.0.0.1:5000/a/b/c:tag", "127.0.0.1:5000/a/b/c:tag"],
    ["[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"],
    ["registry.example.com/team/app", "registry.example.com/team/app:latest", "registry.example.com/team/app:latest"],
    ["docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"],
    ["my-app_1.x__y---z", "docker.io/library/my-app_1.x__y---z:latest", "my-app_1.x__y---z:latest"],
  ];
  for (const [input, full, familiar] of cases) {
    it(`${input} -> ${full} / ${familiar}`, () => {
      const ref = tagNameOnly(parseNormalizedNamed(input));
      assert.equal(fullString(ref), full);
      assert.equal(familiarString(ref), familiar);
      assert.equal(normalize(input), full);
    });
  }

  it("keeps digests and tag+digest", () => {
    const ref = parseNormalizedNamed(`busybox@sha256:${HEX}`);
    assert.equal(ref.digest, `sha256:${HEX}`);
    assert.equal(ref.tag, undefined);
    assert.equal(familiarString(tagNameOnly(ref)), `busybox@sha256:${HEX}`);
    const both = parseNormalizedNamed(`busybox:1@sha256:${HEX}`);
    assert.equal(both.tag, "1");
    assert.equal(familiarString(both), `busybox:1@sha256:${HEX}`);
  });

  it("treats an uppercase first component as a registry", () => {
    const ref = parseNormalizedNamed("Foo/bar");
    assert.equal(ref.domain, "Foo");
    assert.equal(familiarName(ref), "Foo/bar");
  });
});

describe("reference: Docker's errors", () => {
  const errors: Array<[string, string]> = [
    ["Foo", "invalid reference format: repository name (library/Foo) must be lowercase"],
    ["busybox/Foo:1", "invalid reference format: repository name (busybox/Foo) must be lowercase"],
    ["busybox:bad tag", "invalid reference format"],
    ["a:b:c", "invalid reference format"],
    ["", "invalid reference format"],
    ["busybox:", "invalid reference format"],
    ["-busybox", "invalid reference format"],
    [`busybox@sha256:abc`, "invalid reference format"],
    [`busybox@sha256:${"a".repeat(40)}`, "invalid checksum digest length"],
    [`busybox@sha256:${"A".repeat(64)}`, "invalid checksum digest format"],
    [`busybox@md5:${"a".repeat(32)}`, "unsupported digest algorithm"],
    [HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`],
    [`busybox:${"t".repeat(129)}`, "invalid reference format"],
    [`${"a".repeat(250)}/b`, "repository name must not be more than 255 characters"],
  ];
  for (const [input, message] of errors) {
    it(`${JSON.stringify(input.slice(0, 40))} -> ${message.slice(0, 60)}`, () => {
      assert.throws(() => parseNormalizedNamed(input), (err: Error & { statusCode?: number }) => {
        assert.equal(err.message, message);
        assert.equal(err.statusCode, 400);
        return true;
      });
    });
  }
});

describe("reference: any reference (ids)", () => {
  it("a 64-hex string is an image id", () => {
    assert.deepEqual(parseAnyReference(HEX), { kind: "digest", digest: `sha256:${HEX}` });
  });
  it("sha256:<64 hex> is an image id", () => {
    assert.deepEqual(parseAnyReference(`sha256:${HEX}`), { kind: "digest", digest: `sha256:${HEX}` });
  });
  it("a short sha256:abc is a name with a tag, as in Docker", () => {
    const any = parseAnyReference("sha256:abc");
    assert.equal(any.kind, "named");
    if (any.kind === "named") assert.equal(fullString(any.ref), "docker.io/library/sha256:abc");
  });
  it("a short hex prefix parses as a name", () => {
    assert.equal(parseAnyReference("0123ab").kind, "named");
  });
});

describe("reference: repo + tag query pairs", () => {
  it("defaults to latest, lets the tag win, refuses digests", () => {
    assert.equal(familiarString(repoTagReference("busybox", "") as never), "busybox:latest");
    assert.equal(familiarString(repoTagReference("busybox:1", "") as never), "busybox:1");
    assert.equal(familiarString(repoTagReference("busybox:1", "2") as never), "busybox:2");
    assert.equal(repoTagReference("", ""), undefined);
    assert.throws(() => repoTagReference(`busybox@sha256:${HEX}`, ""), /cannot import digest reference/);
    assert.throws(() => repoTagReference("busybox", "bad tag"), /invalid tag format/);
  });
});

describe("reference: familiar match (reference filter)", () => {
  const ref = tagNameOnly(parseNormalizedNamed("busybox"));
  it("matches name and name:tag globs", () => {
    assert.ok(familiarMatch("busybox", ref));
    assert.ok(familiarMatch("busy*", ref));
    assert.ok(familiarMatch("busybox:lat*", ref));
    assert.ok(familiarMatch("busybox:[a-z]atest", ref));
    assert.ok(!familiarMatch("alpine*", ref));
    assert.ok(!familiarMatch("*:1", ref));
  });
  it("a star does not cross a slash", () => {
    const user = tagNameOnly(parseNormalizedNamed("user/app:1"));
    assert.ok(!familiarMatch("*", user));
    assert.ok(familiarMatch("*/*", user));
    assert.ok(familiarMatch("user/*:1", user));
  });
  it("a malformed pattern is a 400", () => {
    assert.throws(() => familiarMatch("[", ref), /syntax error in pattern/);
  });
});
