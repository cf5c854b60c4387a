import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseDockerfile, splitWords } from "../../src/engine/build/dockerfile";
import { cleanSource } from "../../src/engine/build/copy";
import { DockerIgnore } from "../../src/lib/dockerignore";

test("continuations, comments inside them, JSON and shell forms, flags", () => {
  const df = parseDockerfile(
    ["# syntax=docker/dockerfile:1", "", "FROM --platform=linux/amd64 busybox AS b", "RUN echo a \\", "# inside", "", "  && echo b", 'CMD ["sh", "-c"]', "COPY --from=b --chown=1:2 /x /y", "CMD [not json"].join("\n"),
  );
  assert.equal(df.syntax, "docker/dockerfile:1");
  assert.deepEqual(
    df.instructions.map((i) => [i.cmd, i.rest, i.startLine, i.endLine]),
    [
      ["FROM", "busybox AS b", 3, 3],
      ["RUN", "echo a   && echo b", 4, 7],
      ["CMD", '["sh", "-c"]', 8, 8],
      ["COPY", "/x /y", 9, 9],
      ["CMD", "[not json", 10, 10],
    ],
  );
  assert.deepEqual(df.instructions[0].flags, [{ name: "platform", value: "linux/amd64" }]);
  assert.deepEqual(df.instructions[2].json, ["sh", "-c"]);
  assert.equal(df.instructions[4].json, undefined);
  assert.deepEqual(df.instructions[3].flags.map((f) => f.name), ["from", "chown"]);
});

test("the escape directive and heredocs", () => {
  const df = parseDockerfile(["# escape=`", "FROM busybox", "RUN echo `", "  hi", "RUN <<EOF", "echo one", "EOF", "COPY <<-'END' /f", "\tkeep $X", "\tEND"].join("\n"));
  assert.equal(df.escape, "`");
  assert.equal(df.instructions[1].rest, "echo   hi");
  assert.deepEqual(df.instructions[2].heredocs, [{ name: "EOF", content: "echo one\n", quoted: false, chomp: false }]);
  assert.deepEqual(df.instructions[3].heredocs, [{ name: "END", content: "keep $X\n", quoted: true, chomp: true }]);
  assert.equal(df.instructions[3].endLine, 10);
});

test("errors carry the line number in Docker's words", () => {
  assert.throws(() => parseDockerfile("FROM busybox\n\nFOO bar\n"), { message: "dockerfile parse error on line 3: unknown instruction: FOO" });
  assert.throws(() => parseDockerfile("FROM busybox\nCOPY --nope=1 a b\n"), { message: "dockerfile parse error on line 2: unknown flag: nope" });
  assert.throws(() => parseDockerfile("FROM busybox\nONBUILD ONBUILD RUN x\n"), /Chaining ONBUILD/);
  assert.throws(() => parseDockerfile("FROM busybox\nRUN <<EOF\nnever closed\n"), /line 2: unterminated heredoc EOF/);
  assert.throws(() => parseDockerfile("FROM busybox\nWORKDIR\n"), /line 2: WORKDIR requires at least one argument/);
});

test("splitWords keeps quotes for later expansion", () => {
  assert.deepEqual(splitWords(`a "b c" 'd e' f\\ g`), ['a', '"b c"', "'d e'", "f\\ g"]);
});

test("COPY sources may not climb out of the context", () => {
  assert.equal(cleanSource("COPY", "./a/../b/"), "b");
  assert.throws(() => cleanSource("COPY", "../x"), { message: "COPY failed: forbidden path outside the build context: ../x ()" });
  assert.throws(() => cleanSource("ADD", "a/../../x"), /forbidden path outside the build context/);
});

test(".dockerignore: Docker's pattern semantics", () => {
  const ig = new DockerIgnore("# c\n*.log\n!keep.log\n**/secret\n/tmp/\ndocs/*.md\n!docs/README.md\n[ab].txt\n");
  const cases: Array<[string, boolean]> = [
    ["a.log", true],
    ["keep.log", false],
    ["sub/a.log", false], // * does not cross directories
    ["secret", true],
    ["x/y/secret", true],
    ["x/y/secret/inner", true], // a parent matched
    ["tmp", true],
    ["tmp/file", true],
    ["docs/a.md", true],
    ["docs/README.md", false],
    ["a.txt", true],
    ["c.txt", false],
    ["src/code.c", false],
  ];
  for (const [p, want] of cases) assert.equal(ig.excluded(p), want, p);
  assert.equal(ig.hasExceptions, true);
  assert.equal(new DockerIgnore("\n# only comments\n").empty, true);
});
