import assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import { compileGlob, GlobSyntaxError } from "../../src/lib/glob";
import { fuzzParams, stringFrom } from "./fuzz-settings";

/**
 * The linear-time matcher against an oracle: the same glob translated to a regular expression
 * (safe for the short names used here). Same answer for every pattern and name.
 */
function oracle(pattern: string, doubleStar: boolean): RegExp {
  const esc = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (doubleStar && pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      let negated = false;
      if (body[0] === "^" || body[0] === "!") {
        negated = true;
        body = body.slice(1);
      }
      let cls = "";
      for (let j = 0; j < body.length; j++) {
        if (body[j] === "\\" && j + 1 < body.length) cls += esc(body[++j]);
        else if (body[j] === "-" && j > 0 && j + 1 < body.length) cls += "-";
        else cls += esc(body[j]);
      }
      re += cls === "" ? (negated ? "[^]" : "[]") : `[${negated ? "^" : ""}${cls}]`;
      i = end;
    } else if (c === "\\") re += i + 1 < pattern.length ? esc(pattern[++i]) : "\\\\";
    else re += esc(c);
  }
  return new RegExp(re + "$", "s");
}

const PATTERN = ["a", "b", "/", "*", "**", "?", "[ab]", "[^a]", "[!b]", "[a-c]", "\\*", "\\", "[", "]", "-", "."];
const NAME = ["a", "b", "c", "/", "*", "[", "-", ".", "ab/"];

test("glob matching agrees with a regular-expression oracle", () => {
  fc.assert(
    fc.property(stringFrom(PATTERN, 8), stringFrom(NAME, 10), fc.boolean(), (pattern, name, doubleStar) => {
      let re: RegExp;
      try {
        re = oracle(pattern, doubleStar);
      } catch {
        return; // a reversed range ("[c-a]"): JavaScript refuses it, Go and we match nothing
      }
      const ours = compileGlob(pattern, { doubleStar }).test(name);
      assert.equal(ours, re.test(name), `${JSON.stringify(pattern)} vs ${JSON.stringify(name)}`);
    }),
    fuzzParams(3000),
  );
});

test("strict patterns refuse an unclosed class and a trailing backslash", () => {
  assert.throws(() => compileGlob("a[b", { strict: true }), GlobSyntaxError);
  assert.throws(() => compileGlob("a\\", { strict: true }), GlobSyntaxError);
  assert.equal(compileGlob("a[b").test("a[b"), true);
});

test("patterns that make backtracking matchers explode finish at once", () => {
  // a regular expression needs minutes for these; the bound is the test runner's timeout
  assert.equal(compileGlob("a*a*a*a*a*a*a*a*a*a*b").test("a".repeat(20000)), false);
  assert.equal(compileGlob("**/**/**/**/**/**/**/**/x", { doubleStar: true }).test(Array(2000).fill("a").join("/")), false);
  assert.equal(compileGlob("**/**/x", { doubleStar: true }).test("a/b/x"), true);
  assert.equal(compileGlob("**/x", { doubleStar: true }).test("x"), true);
});
