import assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import * as reference from "../../src/lib/reference";
import { fuzzParams, onlyDockerShapedErrors, stringFrom } from "./fuzz-settings";

const REFERENCE_ALPHABET = [..."abz09AZ._-:/@", "__", "sha256:", "a".repeat(64), "localhost", "docker.io/", "[::1]"];

test("any string: the reference parsers answer or throw a Docker-shaped error", () => {
  fc.assert(
    fc.property(fc.oneof(stringFrom(REFERENCE_ALPHABET, 40), fc.string({ maxLength: 80 })), (s) => {
      onlyDockerShapedErrors(() => reference.parseNormalizedNamed(s));
      onlyDockerShapedErrors(() => reference.parseAnyReference(s));
      onlyDockerShapedErrors(() => reference.parse(s));
      onlyDockerShapedErrors(() => reference.normalize(s));
    }),
    fuzzParams(),
  );
});

test("long near-miss names are rejected without a catastrophic regular-expression backtrack", () => {
  // Each of these used to be the shape that makes nested quantifiers explode; the test
  // runner's timeout is the bound.
  for (const s of ["a" + "-a".repeat(5000) + "!", "a." .repeat(5000) + ":", "a/".repeat(3000) + "A", "a" + "__a".repeat(4000) + "@"]) {
    assert.throws(() => reference.parse(s));
  }
});

const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
const domain = fc.oneof(
  fc.constant(undefined),
  fc.tuple(fc.stringMatching(/^[a-z0-9]{1,8}(?:\.[a-z0-9]{1,8}){1,2}$/), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }))
    .map(([host, port]) => (port === undefined ? host : `${host}:${port}`)),
  fc.constant("localhost:5000"),
);
const tag = fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: undefined });
const digest = fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`), { nil: undefined });

test("valid references survive a round trip through their string forms", () => {
  fc.assert(
    fc.property(domain, fc.array(component, { minLength: 1, maxLength: 3 }), tag, digest, (dom, parts, t, d) => {
      const name = [dom, ...parts].filter((p) => p !== undefined).join("/");
      const text = `${name}${t ? `:${t}` : ""}${d ? `@${d}` : ""}`;
      const ref = reference.parseNormalizedNamed(text);
      assert.deepEqual(reference.parse(reference.fullString(ref)), ref);
      // familiar form and normalized form name the same thing, and normalizing is idempotent
      assert.deepEqual(reference.parseNormalizedNamed(reference.familiarString(ref)), ref);
      assert.equal(reference.normalize(reference.normalize(text)), reference.normalize(text));
      if (t) assert.equal(ref.tag, t);
      if (d) assert.equal(ref.digest, d);
    }),
    fuzzParams(),
  );
});
