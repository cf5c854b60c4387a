/** docker's --since/--until values (api/types/time.GetTimestamp). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTimestamp, parseTimestampParts } from "../../src/lib/timestamps";

const NOW = Date.UTC(2023, 10, 14, 22, 13, 20, 250); // 1700000000.25

/** Runs fn with the process time zone set to `tz` (Node picks up TZ changes at once). */
function inZone<T>(tz: string, fn: () => T): T {
  const saved = process.env.TZ;
  process.env.TZ = tz;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

test("durations count back from now, in whole seconds", () => {
  assert.equal(parseTimestamp("10m", NOW), 1700000000 - 600);
  assert.equal(parseTimestamp("1h30m", NOW), 1700000000 - 5400);
  assert.equal(parseTimestamp("1.5s", NOW), 1699999998); // floor(1699999998.75)
  assert.equal(parseTimestamp("-2s", NOW), 1700000002); // a negative duration is in the future
  assert.deepEqual(parseTimestampParts("10s", NOW), { seconds: 1699999990, nanos: 0 });
});

test("unix seconds, with optional fraction", () => {
  assert.equal(parseTimestamp("0", NOW), 0); // "0" is a timestamp, not a duration
  assert.equal(parseTimestamp("1700000000", NOW), 1700000000);
  assert.deepEqual(parseTimestampParts("1700000000.123456789", NOW), { seconds: 1700000000, nanos: 123456789 });
  assert.deepEqual(parseTimestampParts("1700000000.5", NOW), { seconds: 1700000000, nanos: 500000000 });
  assert.deepEqual(parseTimestampParts("1700000000.1234567891", NOW), { seconds: 1700000000, nanos: 123456789 });
  assert.equal(parseTimestamp("1700000000.25", NOW), 1700000000.25);
});

test("RFC 3339 with a zone", () => {
  assert.equal(parseTimestamp("2006-01-02T15:04:05Z", NOW), 1136214245);
  assert.deepEqual(parseTimestampParts("2006-01-02T15:04:05.123Z", NOW), { seconds: 1136214245, nanos: 123000000 });
  assert.deepEqual(parseTimestampParts("2006-01-02T15:04:05.123456789+00:00", NOW), { seconds: 1136214245, nanos: 123456789 });
  assert.equal(parseTimestamp("2006-01-02T15:04:05+07:00", NOW), 1136214245 - 7 * 3600);
  assert.equal(parseTimestamp("2006-01-02T15:04:05-07:00", NOW), 1136214245 + 7 * 3600);
  assert.equal(parseTimestamp("2006-01-02T15:04Z", NOW), 1136214240);
  assert.equal(parseTimestamp("2006-01-02T15:04+01:00", NOW), 1136214240 - 3600);
  assert.equal(parseTimestamp("2006-01-02T15Z", NOW), 1136214000);
  assert.equal(parseTimestamp("2006-01-02Z", NOW), 1136160000);
  assert.equal(parseTimestamp("2006-01-02+01:00", NOW), 1136160000 - 3600);
  assert.equal(parseTimestamp("2024-02-29T00:00:00Z", NOW), 1709164800);
});

test("no zone means the local zone (its offset at `now`)", () => {
  inZone("UTC", () => {
    assert.equal(parseTimestamp("2006-01-02", NOW), 1136160000);
    assert.equal(parseTimestamp("2006-01-02T15", NOW), 1136214000);
    assert.equal(parseTimestamp("2006-01-02T15:04", NOW), 1136214240);
    assert.equal(parseTimestamp("2006-01-02T15:04:05", NOW), 1136214245);
    assert.deepEqual(parseTimestampParts("2006-01-02T15:04:05.5", NOW), { seconds: 1136214245, nanos: 500000000 });
  });
  inZone("Asia/Kolkata", () => {
    assert.equal(parseTimestamp("2006-01-02", NOW), 1136160000 - 19800);
    assert.equal(parseTimestamp("2006-01-02T15:04:05", NOW), 1136214245 - 19800);
  });
});

test("docker's and Go's error messages", () => {
  const cases: [string, string][] = [
    ["garbage", 'failed to parse value as time or duration: "garbage"'],
    ["", 'failed to parse value as time or duration: ""'],
    ["1700000000.abc", 'failed to parse value as time or duration: "1700000000.abc"'],
    ["2006-13-01", 'parsing time "2006-13-01": month out of range'],
    ["2006-02-30", 'parsing time "2006-02-30": day out of range'],
    ["2006-01-02T25:00:00", 'parsing time "2006-01-02T25:00:00": hour out of range'],
    ["2006-01-02T10:61", 'parsing time "2006-01-02T10:61": minute out of range'],
    ["2006-01-02X", 'parsing time "2006-01-02X": extra text: "X"'],
    ["2006-1-02", 'parsing time "2006-1-02" as "2006-01-02": cannot parse "1-02" as "01"'],
    ["-5", 'parsing time "-5" as "2006-01-02": cannot parse "-5" as "2006"'],
    [
      "2006-01-02T15:04:05z",
      'parsing time "2006-01-02T15:04:05z" as "2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00"',
    ],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseTimestamp(value, NOW), { message }, value);
  }
});
