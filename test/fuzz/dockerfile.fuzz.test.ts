import assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import { DockerfileParseError, KNOWN_INSTRUCTIONS, parseDockerfile, splitWords } from "../../src/engine/build/dockerfile";
import { fuzzParams, onlyDockerShapedErrors, stringFrom } from "./fuzz-settings";

const INSTRUCTIONS = [...KNOWN_INSTRUCTIONS];
const TOKENS = [
  ...INSTRUCTIONS.map((i) => `${i} `),
  "\n", "\n", "\\\n", "`\n", "# c\n", "# escape=`\n", "# syntax=x\n", "\r\n", " ", "\t",
  "--from=a ", "--mount=type=cache,target=/c ", "--chmod=755 ", "--bogus ", "--",
  "<<EOF\n", "<<-EOF\n", "<<'EOF'\n", "EOF\n", "\tEOF\n",
  '["a","b"]', '["a",', "[", "]", '"', "'", "$X", "${X:-y}", "${X:+y}", "${", "}", "a", "b=c", "ONBUILD ", "\uFEFF",
];

test("any text: the Dockerfile parser answers or gives a parse error with a real line number", () => {
  fc.assert(
    fc.property(fc.oneof(stringFrom(TOKENS, 30), fc.string({ maxLength: 200 })), (text) => {
      const lineCount = text.split(/\r?\n/).length;
      try {
        const parsed = parseDockerfile(text);
        for (const ins of parsed.instructions) {
          assert.ok(KNOWN_INSTRUCTIONS.has(ins.cmd));
          assert.ok(ins.startLine >= 1 && ins.startLine <= ins.endLine && ins.endLine <= lineCount, `lines ${ins.startLine}-${ins.endLine} of ${lineCount}`);
        }
      } catch (err) {
        if (!(err instanceof DockerfileParseError)) throw err;
        assert.ok(err.line >= 1 && err.line <= lineCount, `error on line ${err.line} of ${lineCount}`);
        assert.match(err.message, /^dockerfile parse error on line \d+: /);
      }
    }),
    fuzzParams(),
  );
});

test("any text: splitting words answers or throws a Docker-shaped error", () => {
  fc.assert(
    fc.property(stringFrom(["a", " ", "\t", '"', "'", "\\", "`", "$", "{", "}", "=", "b c"], 40), fc.constantFrom("\\", "`"), (text, escape) => {
      const words = onlyDockerShapedErrors(() => splitWords(text, escape));
      if (words) for (const w of words) assert.equal(typeof w, "string");
    }),
    fuzzParams(),
  );
});

interface Line {
  cmd: string;
  args: string[];
  /** Break the arguments over continuation lines, with a comment and a blank line inside. */
  continued: boolean;
}
// (a word never starts with "-": "--x" would be a flag)
const word = fc.stringMatching(/^[a-z0-9][a-z0-9/._=-]{0,7}$/);
const instructionLine: fc.Arbitrary<Line> = fc.record({
  cmd: fc.constantFrom(...INSTRUCTIONS.filter((i) => i !== "ONBUILD")),
  args: fc.array(word, { minLength: 1, maxLength: 4 }),
  continued: fc.boolean(),
});

test("generated Dockerfiles parse to their instructions, in order, on their lines", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(instructionLine, fc.nat({ max: 2 })), { minLength: 1, maxLength: 12 }), (spec) => {
      const lines: string[] = [];
      const expected: Array<{ cmd: string; startLine: number; words: string[] }> = [];
      for (const [ins, blankBefore] of spec) {
        for (let b = 0; b < blankBefore; b++) lines.push(b % 2 ? "# a comment" : "");
        expected.push({ cmd: ins.cmd, startLine: lines.length + 1, words: ins.args });
        if (ins.continued && ins.args.length > 1) {
          lines.push(`${ins.cmd.toLowerCase()} ${ins.args[0]} \\`, "# inside", "", `  ${ins.args.slice(1).join(" ")}`);
        } else {
          lines.push(`${ins.cmd} ${ins.args.join(" ")}`);
        }
      }
      const parsed = parseDockerfile(lines.join("\n"));
      assert.deepEqual(
        parsed.instructions.map((i) => ({ cmd: i.cmd, startLine: i.startLine, words: i.rest.split(/\s+/) })),
        expected,
      );
    }),
    fuzzParams(),
  );
});
