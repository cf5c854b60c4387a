import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyChanges, parseInstructions } from "../../src/engine/images/changes";

describe("images: --change instructions", () => {
  it("CMD and ENTRYPOINT in JSON and shell form", () => {
    assert.deepEqual(applyChanges({}, ['CMD ["sh"]']).Cmd, ["sh"]);
    assert.deepEqual(applyChanges({}, ["CMD echo hello world"]).Cmd, ["/bin/sh", "-c", "echo hello world"]);
    assert.deepEqual(applyChanges({}, ["CMD [not json"]).Cmd, ["/bin/sh", "-c", "[not json"]);
    assert.deepEqual(applyChanges({}, ['ENTRYPOINT ["/bin/app", "-v"]']).Entrypoint, ["/bin/app", "-v"]);
    assert.deepEqual(applyChanges({ Shell: ["/bin/bash", "-c"] }, ["cmd ls"]).Cmd, ["/bin/bash", "-c", "ls"]);
  });

  it("ENTRYPOINT drops an inherited CMD unless CMD is set too", () => {
    assert.equal(applyChanges({ Cmd: ["old"] }, ["ENTRYPOINT /x"]).Cmd, null);
    assert.deepEqual(applyChanges({ Cmd: ["old"] }, ['CMD ["new"]', "ENTRYPOINT /x"]).Cmd, ["new"]);
  });

  it("ENV: name=value pairs, quotes, expansion, legacy form, replacement", () => {
    const c = applyChanges({ Env: ["PATH=/bin", "A=1"] }, ['ENV A=2 B="two words" C=$PATH:/x D=${A}', "ENV LEGACY some value here"]);
    assert.deepEqual(c.Env, ["PATH=/bin", "A=2", "B=two words", "C=/bin:/x", "D=1", "LEGACY=some value here"]);
    assert.deepEqual(applyChanges({}, ["ENV X=${UNSET:-dflt} Y='$LIT'"]).Env, ["X=dflt", "Y=$LIT"]);
  });

  it("LABEL, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL, ONBUILD", () => {
    const c = applyChanges({ WorkingDir: "/app" }, [
      'LABEL a=1 "b c"=2',
      "EXPOSE 80 53/udp 8000-8001/tcp",
      "USER app:app",
      "WORKDIR sub",
      'VOLUME ["/data", "/logs"]',
      "VOLUME /cache",
      "STOPSIGNAL SIGQUIT",
      "ONBUILD RUN echo hi",
    ]);
    assert.deepEqual(c.Labels, { a: "1", "b c": "2" });
    assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ["80/tcp", "53/udp", "8000/tcp", "8001/tcp"]);
    assert.equal(c.User, "app:app");
    assert.equal(c.WorkingDir, "/app/sub");
    assert.deepEqual(Object.keys(c.Volumes ?? {}), ["/data", "/logs", "/cache"]);
    assert.equal(c.StopSignal, "SIGQUIT");
    assert.deepEqual(c.OnBuild, ["RUN echo hi"]);
  });

  it("one change may hold several lines and continuations", () => {
    const c = applyChanges({}, ["# comment\nENV A=1 \\\n  B=2\n\nUSER nobody"]);
    assert.deepEqual(c.Env, ["A=1", "B=2"]);
    assert.equal(c.User, "nobody");
    assert.equal(parseInstructions("RUN a \\\n b").length, 1);
  });

  it("does not modify the base config", () => {
    const base = { Env: ["A=1"] };
    applyChanges(base, ["ENV A=2"]);
    assert.deepEqual(base.Env, ["A=1"]);
  });

  it("refuses what Docker refuses, with Docker's messages", () => {
    assert.throws(() => applyChanges({}, ["RUN echo"]), { message: "RUN is not a valid change command" });
    assert.throws(() => applyChanges({}, ["from busybox"]), { message: "from is not a valid change command" });
    assert.throws(() => applyChanges({}, ["ONBUILD ONBUILD RUN x"]), /Chaining ONBUILD/);
    assert.throws(() => applyChanges({}, ["ONBUILD FROM x"]), { message: "FROM isn't allowed as an ONBUILD trigger" });
    assert.throws(() => applyChanges({}, ["STOPSIGNAL SIGNOPE"]), { message: "Invalid signal: SIGNOPE" });
    assert.throws(() => applyChanges({}, ["EXPOSE 80/xyz"]), /invalid proto/);
    assert.throws(() => applyChanges({}, ["EXPOSE abc"]), /invalid containerPort/);
    assert.throws(() => applyChanges({}, ["ENV A=1 B"]), /can't find =/);
    assert.throws(() => applyChanges({}, ["ENV =x"]), /names can not be blank/);
    assert.throws(() => applyChanges({}, ["ENV ONLYKEY"]), /must have two arguments/);
    assert.throws(() => applyChanges({}, ["CMD"]), /requires at least one argument/);
    assert.throws(() => applyChanges({}, ['LABEL a="unterminated']), /matching "/);
  });
});
