import { test } from "node:test";
import * as assert from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { displayJsonMessages, JsonMessageError, renderJsonMessage } from "../../src/cli/jsonstream";

test("messages render as docker's non-terminal display", () => {
  assert.equal(renderJsonMessage({ status: "Pulling from library/busybox", id: "latest" }), "latest: Pulling from library/busybox\n");
  assert.equal(renderJsonMessage({ stream: "Loaded image: busybox:latest\n" }), "Loaded image: busybox:latest\n");
  assert.equal(renderJsonMessage({ status: "sha256:abc" }), "sha256:abc\n");
  // progress-bar updates are for terminals only
  assert.equal(renderJsonMessage({ status: "Downloading", id: "a1", progressDetail: { current: 5, total: 10 }, progress: "[=>  ]" }), undefined);
  assert.equal(renderJsonMessage({ status: "Extracting", progress: "1/2" }), "Extracting 1/2\n");
  assert.equal(renderJsonMessage({ status: "Pull complete", id: "a1", progressDetail: {} }), "a1: Pull complete\n");
});

test("the stream's error is thrown; aux goes to its callback", async () => {
  let text = "";
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const aux: unknown[] = [];
  await displayJsonMessages(Readable.from(['{"status":"one"}\n{"aux":{"ID":"sha256:x"}}\n']), out, (a) => aux.push(a));
  assert.equal(text, "one\n");
  assert.deepEqual(aux, [{ ID: "sha256:x" }]);
  await assert.rejects(
    displayJsonMessages(Readable.from(['{"status":"x"}\n{"errorDetail":{"message":"boom"},"error":"boom"}\n']), out),
    new JsonMessageError("boom"),
  );
});
