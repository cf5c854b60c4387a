import { test } from "node:test";
import * as assert from "node:assert/strict";
import { PassThrough, Readable, Writable } from "node:stream";
import { demuxStream } from "../../src/cli/stdcopy";
import { frame } from "../../src/lib/stdcopy";

class Sink extends Writable {
  chunks: Buffer[] = [];
  constructor(private readonly slow = false) {
    super({ highWaterMark: 4 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    if (this.slow) setImmediate(cb);
    else cb();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

function source(chunks: Buffer[]): Readable {
  return Readable.from(chunks);
}

test("routes frames to stdout and stderr in order", async () => {
  const out = new Sink();
  const err = new Sink();
  const data = Buffer.concat([
    frame(1, Buffer.from("hello\n")),
    frame(2, Buffer.from("oops\n")),
    frame(1, Buffer.from("bye\n")),
  ]);
  await demuxStream(source([data]), out, err);
  assert.equal(out.text, "hello\nbye\n");
  assert.equal(err.text, "oops\n");
});

test("frames split at every possible byte boundary", async () => {
  const data = Buffer.concat([frame(1, Buffer.from("abc")), frame(2, Buffer.from("")), frame(2, Buffer.from("defgh"))]);
  for (let cut = 1; cut < data.length; cut++) {
    for (let cut2 = cut; cut2 < data.length; cut2++) {
      const out = new Sink();
      const err = new Sink();
      await demuxStream(source([data.subarray(0, cut), data.subarray(cut, cut2), data.subarray(cut2)]), out, err);
      assert.equal(out.text, "abc", `cut at ${cut}/${cut2}`);
      assert.equal(err.text, "defgh", `cut at ${cut}/${cut2}`);
    }
  }
});

test("one byte at a time, with a large payload and a slow consumer", async () => {
  const big = Buffer.alloc(100_000, "x");
  const data = Buffer.concat([frame(1, big), frame(2, Buffer.from("e"))]);
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += 997) pieces.push(data.subarray(i, i + 997));
  const out = new Sink(true);
  const err = new Sink(true);
  await demuxStream(source(pieces), out, err);
  assert.equal(Buffer.concat(out.chunks).length, big.length);
  assert.equal(err.text, "e");
});

test("a system-error frame (type 3) rejects with its text", async () => {
  const data = Buffer.concat([frame(1, Buffer.from("partial")), frame(3, Buffer.from("container died"))]);
  const out = new Sink();
  await assert.rejects(demuxStream(source([data]), out, new Sink()), /container died/);
  assert.equal(out.text, "partial");
});

test("an unknown stream type rejects", async () => {
  await assert.rejects(demuxStream(source([frame(7, Buffer.from("x"))]), new Sink(), new Sink()), /Unrecognized input header: 7/);
});

test("works on a live stream that ends later", async () => {
  const input = new PassThrough();
  const out = new Sink();
  const done = demuxStream(input, out, new Sink());
  input.write(frame(1, Buffer.from("a")).subarray(0, 5));
  await new Promise((r) => setImmediate(r));
  input.end(Buffer.concat([frame(1, Buffer.from("a")).subarray(5), frame(1, Buffer.from("b"))]));
  await done;
  assert.equal(out.text, "ab");
});
