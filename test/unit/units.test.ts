/** go-units (v0.5.0, as docker 28 ships it) and Go's time.ParseDuration / strconv.FormatFloat. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bytesSize,
  formatFloat,
  fromHumanSize,
  goQuote,
  humanDuration,
  humanSize,
  parseGoDuration,
  ramInBytes,
} from "../../src/lib/units";

test("humanSize: decimal units, 3 significant digits by default (%.3g)", () => {
  const cases: [number, string][] = [
    [0, "0B"],
    [1, "1B"],
    [999, "999B"],
    [1000, "1kB"],
    [1024, "1.02kB"],
    [1234567, "1.23MB"],
    [4.39e6, "4.39MB"],
    [7.77e9, "7.77GB"],
    [999999, "1e+03kB"], // go-units really prints this
    [1e15, "1PB"],
    [1e24, "1YB"],
    [1e27, "1e+03YB"],
  ];
  for (const [n, s] of cases) assert.equal(humanSize(n), s, String(n));
  assert.equal(humanSize(1234567, 4), "1.235MB"); // go-units HumanSize
  assert.equal(humanSize(2746000, 4), "2.746MB");
});

test("bytesSize: binary units (%.4g), ties rounded half to even like Go", () => {
  const cases: [number, string][] = [
    [0, "0B"],
    [1023, "1023B"],
    [1024, "1KiB"],
    [1536, "1.5KiB"],
    [100 * 2 ** 20, "100MiB"],
    [2 ** 30, "1GiB"],
    [10368, "10.12KiB"], // 10.125 exactly: to even
    [10369, "10.13KiB"],
    [1048575, "1024KiB"],
    [1.5 * 2 ** 40, "1.5TiB"],
  ];
  for (const [n, s] of cases) assert.equal(bytesSize(n), s, String(n));
});

test("ramInBytes: binary multiples, optional b/ib, case-insensitive", () => {
  const cases: [string, number][] = [
    ["1024", 1024],
    ["64m", 64 * 2 ** 20],
    ["64M", 64 * 2 ** 20],
    ["64mb", 64 * 2 ** 20],
    ["64MiB", 64 * 2 ** 20],
    ["1g", 2 ** 30],
    ["1.5g", 1.5 * 2 ** 30],
    ["32 kb", 32 * 1024],
    ["10b", 10],
    ["10B", 10],
    ["1t", 2 ** 40],
    ["1p", 2 ** 50],
    ["0.5k", 512],
    ["1.9", 1],
  ];
  for (const [s, n] of cases) assert.equal(ramInBytes(s), n, s);
});

test("ramInBytes: go-units' error messages", () => {
  assert.throws(() => ramInBytes("12xyz"), { message: "invalid suffix: 'xyz'" });
  assert.throws(() => ramInBytes("abc"), { message: "invalid size: 'abc'" });
  assert.throws(() => ramInBytes(""), { message: "invalid size: ''" });
  assert.throws(() => ramInBytes("-1"), { message: "invalid size: '-1'" });
  assert.throws(() => ramInBytes("1.2.3"), { message: 'strconv.ParseFloat: parsing "1.2.3": invalid syntax' });
  assert.throws(() => ramInBytes("1kbb"), { message: "invalid suffix: 'kbb'" });
  assert.throws(() => ramInBytes("1mx"), { message: "invalid suffix: 'mx'" });
  assert.throws(() => ramInBytes("1bi"), { message: "invalid suffix: 'bi'" });
  assert.throws(() => ramInBytes("1kilo"), { message: "invalid suffix: 'kilo'" });
});

test("fromHumanSize: decimal multiples", () => {
  assert.equal(fromHumanSize("32"), 32);
  assert.equal(fromHumanSize("32kb"), 32000);
  assert.equal(fromHumanSize("32KB"), 32000);
  assert.equal(fromHumanSize("1.5MB"), 1500000);
  assert.equal(fromHumanSize("1 GB"), 1e9);
  assert.equal(fromHumanSize("1KiB"), 1000); // go-units quirk: the map decides, not the "i"
  assert.throws(() => fromHumanSize("1x"), { message: "invalid suffix: 'x'" });
});

test("humanDuration: go-units thresholds", () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const cases: [number, string][] = [
    [0, "Less than a second"],
    [999, "Less than a second"],
    [-5 * s, "Less than a second"],
    [s, "1 second"],
    [1999, "1 second"],
    [45 * s, "45 seconds"],
    [59 * s, "59 seconds"],
    [m, "About a minute"],
    [2 * m - 1, "About a minute"],
    [2 * m, "2 minutes"],
    [59 * m, "59 minutes"],
    [h, "About an hour"],
    [89 * m, "About an hour"],
    [90 * m, "2 hours"],
    [47 * h, "47 hours"],
    [48 * h, "2 days"],
    [13 * d, "13 days"],
    [14 * d, "2 weeks"],
    [59 * d, "8 weeks"],
    [60 * d, "2 months"],
    [729 * d, "24 months"],
    [730 * d, "2 years"],
    [3650 * d, "10 years"],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, String(ms));
});

test("parseGoDuration: Go's syntax, in milliseconds", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["-0", 0],
    ["300ms", 300],
    ["1h2m3.5s", 3723500],
    ["1.5h", 5400000],
    ["-2s", -2000],
    ["+5m", 300000],
    [".5s", 500],
    ["5.s", 5000],
    ["1us", 0.001],
    ["1\u00b5s", 0.001],
    ["1\u03bcs", 0.001],
    ["1ns", 1e-6],
    ["1h1h", 7200000],
    ["0.000000001s", 1e-6],
  ];
  for (const [s, ms] of cases) assert.equal(parseGoDuration(s), ms, s);
});

test("parseGoDuration: Go's error messages", () => {
  assert.throws(() => parseGoDuration("x"), { message: 'time: invalid duration "x"' });
  assert.throws(() => parseGoDuration(""), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration("-"), { message: 'time: invalid duration "-"' });
  assert.throws(() => parseGoDuration("."), { message: 'time: invalid duration "."' });
  assert.throws(() => parseGoDuration("1h-2m"), { message: 'time: unknown unit "h-" in duration "1h-2m"' });
  assert.throws(() => parseGoDuration("1"), { message: 'time: missing unit in duration "1"' });
  assert.throws(() => parseGoDuration("1x"), { message: 'time: unknown unit "x" in duration "1x"' });
  assert.throws(() => parseGoDuration("1d"), { message: 'time: unknown unit "d" in duration "1d"' });
  assert.throws(() => parseGoDuration("9999999999h"), { message: 'time: invalid duration "9999999999h"' });
});

test("formatFloat: strconv.FormatFloat", () => {
  assert.equal(formatFloat(0.5, "f", 0), "0");
  assert.equal(formatFloat(1.5, "f", 0), "2");
  assert.equal(formatFloat(2.5, "f", 0), "2");
  assert.equal(formatFloat(1.005, "f", 2), "1.00"); // 1.00499999999999989...
  assert.equal(formatFloat(1e21, "g", -1), "1e+21");
  assert.equal(formatFloat(123456789, "g", -1), "1.23456789e+08");
  assert.equal(formatFloat(100000, "g", -1), "100000");
  assert.equal(formatFloat(0.0001, "g", -1), "0.0001");
  assert.equal(formatFloat(0.00001, "g", -1), "1e-05");
  assert.equal(formatFloat(0, "e", 2), "0.00e+00");
  assert.equal(formatFloat(-1.5, "e", -1), "-1.5e+00");
  assert.equal(formatFloat(1234.5678, "E", 6), "1.234568E+03");
  assert.equal(formatFloat(1e22, "f", 2), "10000000000000000000000.00");
  assert.equal(formatFloat(0.1, "f", -1), "0.1");
  assert.equal(formatFloat(9.9999, "g", 3), "10");
  assert.equal(formatFloat(NaN, "g", -1), "NaN");
  assert.equal(formatFloat(-Infinity, "f", 2), "-Inf");
  assert.equal(formatFloat(-0, "g", -1), "-0");
});

test("goQuote: strconv.Quote for error messages", () => {
  assert.equal(goQuote('a"b\\c\n\t\x01'), '"a\\"b\\\\c\\n\\t\\x01"');
  assert.equal(goQuote("é"), '"é"');
});
