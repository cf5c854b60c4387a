import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DetachKeyFilter, detachKeyBytes } from "../../src/lib/detach-keys";

describe("detach keys", () => {
  test("Docker's key names become bytes", () => {
    assert.deepEqual([...detachKeyBytes("ctrl-p,ctrl-q")], [16, 17]);
    assert.deepEqual([...detachKeyBytes("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_")], [0, 27, 28, 29, 30, 31]);
    assert.deepEqual([...detachKeyBytes("a,Z,ctrl-A")], [97, 90, 1]);
  });

  test("anything else is Docker's error", () => {
    assert.throws(() => detachKeyBytes("ctrl-xx"), /Unknown character: 'ctrl-xx'/);
    assert.throws(() => detachKeyBytes("foo"), /Unknown character: 'foo'/);
    assert.throws(() => detachKeyBytes("ctrl-1"), /Unknown character/);
    assert.throws(() => detachKeyBytes("a,,b"), /Unknown character: ''/);
  });

  test("the sequence is swallowed and reported, in one chunk or across chunks", () => {
    const f = new DetachKeyFilter(Buffer.from([16, 17]));
    assert.deepEqual(f.push(Buffer.from("ab\x10")), { data: Buffer.from("ab"), detached: false });
    assert.deepEqual(f.push(Buffer.from("\x11zz")), { data: Buffer.alloc(0), detached: true });
    const g = new DetachKeyFilter(Buffer.from([16, 17]));
    assert.deepEqual(g.push(Buffer.from("x\x10\x11")), { data: Buffer.from("x"), detached: true });
  });

  test("a broken prefix is released as typed, and may start a new match", () => {
    const f = new DetachKeyFilter(Buffer.from([16, 17]));
    assert.deepEqual(f.push(Buffer.from("\x10a")), { data: Buffer.from("\x10a"), detached: false });
    assert.deepEqual(f.push(Buffer.from("\x10\x10")), { data: Buffer.from("\x10"), detached: false });
    assert.deepEqual(f.push(Buffer.from("\x11")), { data: Buffer.alloc(0), detached: true });
  });
});
