import assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import { parsePortSpec } from "../../src/cli/opts/ports";
import { parseNanoCpus, parseUlimit } from "../../src/cli/opts/values";
import { detachKeyBytes, DetachKeyFilter } from "../../src/lib/detach-keys";
import { DockerIgnore } from "../../src/lib/dockerignore";
import { parseSignal } from "../../src/lib/signals";
import { parseGoDuration } from "../../src/lib/units";
import { fuzzParams, stringFrom } from "./fuzz-settings";

/** A parser's contract for user input: a value, or an Error with a message (never a TypeError). */
function valueOrMessage(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError), String(err));
    assert.ok(err.message.length > 0);
  }
}

test("CLI option parsers: ports, cpus, ulimits, signals, durations answer or say what is wrong", () => {
  fc.assert(
    fc.property(stringFrom([..."0189:./-=,tcpud[]", "127.0.0.1", "::1", "65536", "tcp", "udp", "nofile", "SIG", "KILL", "ms", "h", "1e9"], 16), (s) => {
      valueOrMessage(() => parsePortSpec(s));
      valueOrMessage(() => parseNanoCpus(s));
      valueOrMessage(() => parseUlimit(s));
      valueOrMessage(() => parseSignal(s));
      valueOrMessage(() => parseGoDuration(s));
    }),
    fuzzParams(),
  );
});

const keySpec = fc.array(fc.oneof(fc.constantFrom("ctrl-p", "ctrl-q", "ctrl-a", "ctrl-@", "ctrl-[", "a", "b", ","), fc.string({ minLength: 1, maxLength: 1 })), { minLength: 1, maxLength: 3 }).map((keys) => keys.join(","));

test("detach keys: the filter's verdict and output do not depend on how input is chunked", () => {
  fc.assert(
    fc.property(keySpec, fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat({ max: 40 }), { maxLength: 6 }), (spec, bytes, cuts) => {
      let keys: Buffer;
      try {
        keys = detachKeyBytes(spec);
      } catch (err) {
        assert.match((err as Error).message, /^Unknown character: /);
        return;
      }
      // inputs made of key bytes hit the interesting paths more often
      const input = Buffer.from(Array.from(bytes, (b) => (b % 3 === 0 && keys.length ? keys[b % keys.length] : b)));
      const feed = (chunks: Buffer[]): { out: Buffer; detached: boolean } => {
        const filter = new DetachKeyFilter(keys);
        const out: Buffer[] = [];
        for (const chunk of chunks) {
          const r = filter.push(chunk);
          out.push(r.data);
          if (r.detached) return { out: Buffer.concat(out), detached: true };
        }
        return { out: Buffer.concat(out), detached: false };
      };
      const whole = feed([input]);
      const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...points, input.length].slice(1).map((end, i, ends) => input.subarray(i === 0 ? 0 : ends[i - 1], end));
      const chunked = feed(chunks);
      assert.equal(chunked.detached, whole.detached);
      assert.deepEqual(chunked.out, whole.out);
      // what is forwarded is always a prefix of what was typed, minus only the held key bytes
      if (!whole.detached) assert.ok(input.subarray(0, whole.out.length).equals(whole.out));
    }),
    fuzzParams(),
  );
});

const IGNORE_PARTS = ["*", "**", "?", "a", "b", "/", "!", ".", "..", "[a-c]", "[", "\\", "#", "\n", " "];

test(".dockerignore: any pattern file compiles, and an excluded directory excludes what is inside", () => {
  fc.assert(
    fc.property(stringFrom(IGNORE_PARTS, 20), fc.array(fc.constantFrom("a", "b", "c", "ab"), { minLength: 1, maxLength: 4 }), (patterns, parts) => {
      let ignore: DockerIgnore;
      try {
        ignore = new DockerIgnore(patterns);
      } catch (err) {
        // a malformed pattern ([ without ]) is an error with a message, as in Docker
        assert.ok(err instanceof Error && !(err instanceof TypeError), String(err));
        return;
      }
      const dir = parts.slice(0, -1).join("/");
      const file = parts.join("/");
      const fileExcluded = ignore.excluded(file);
      if (dir && !ignore.hasExceptions && ignore.excluded(dir)) assert.ok(fileExcluded, `${dir} excluded but not ${file} by ${JSON.stringify(patterns)}`);
    }),
    fuzzParams(),
  );
});

test(".dockerignore: deep ** patterns against long paths finish (no exponential matching)", () => {
  const ignore = new DockerIgnore("**/**/**/**/**/**/**/**/x\n" + "a*a*a*a*a*a*a*a*b");
  assert.equal(ignore.excluded(Array(200).fill("a").join("/")), false);
  assert.equal(ignore.excluded("a".repeat(5000)), false);
});
