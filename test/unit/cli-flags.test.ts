import { test } from "node:test";
import * as assert from "node:assert/strict";
import { FlagError, FlagSpec, parseFlags, renderFlagUsages, validateInt } from "../../src/cli/flags";

const specs: FlagSpec[] = [
  { name: "detach", short: "d", bool: true, description: "Run in background" },
  { name: "interactive", short: "i", bool: true, description: "Keep STDIN open" },
  { name: "tty", short: "t", bool: true, description: "Allocate a TTY" },
  { name: "env", short: "e", type: "list", repeat: true, description: "Set env" },
  { name: "name", type: "string", description: "Name" },
  { name: "rm", bool: true, description: "Remove" },
  { name: "hostname", short: "h", type: "string", description: "Host name" },
  { name: "stop-timeout", type: "int", description: "Timeout", validate: validateInt },
];

test("combined shorthands, attached and separate values", () => {
  const r = parseFlags(["-it", "-eA=1", "-e", "B=2", "-e=C=3", "--env", "D=4", "--env=E=5", "busybox"], specs);
  assert.equal(r.flags.bool("interactive"), true);
  assert.equal(r.flags.bool("tty"), true);
  assert.deepEqual(r.flags.list("env"), ["A=1", "B=2", "C=3", "D=4", "E=5"]);
  assert.deepEqual(r.args, ["busybox"]);
});

test("booleans take =value but never the next argument", () => {
  const r = parseFlags(["--rm=false", "-d=false", "--rm", "busybox"], specs);
  assert.equal(r.flags.bool("rm"), true);
  assert.equal(r.flags.bool("detach"), false);
  assert.deepEqual(r.args, ["busybox"]);
  assert.equal(parseFlags(["--rm=0"], specs).flags.bool("rm"), false);
  assert.equal(parseFlags(["--rm=T"], specs).flags.bool("rm"), true);
});

test("options stop at the first positional when asked (run's image)", () => {
  const r = parseFlags(["-d", "busybox", "sh", "-c", "x -d"], specs, { stopAtFirstPositional: true });
  assert.equal(r.flags.bool("detach"), true);
  assert.deepEqual(r.args, ["busybox", "sh", "-c", "x -d"]);
  const interspersed = parseFlags(["a", "--rm", "b"], specs);
  assert.deepEqual(interspersed.args, ["a", "b"]);
  assert.equal(interspersed.flags.bool("rm"), true);
});

test("-- ends the options and - is an argument", () => {
  const r = parseFlags(["--", "--rm", "-d"], specs);
  assert.deepEqual(r.args, ["--rm", "-d"]);
  assert.deepEqual(parseFlags(["-"], specs).args, ["-"]);
});

test("a value flag takes the next argument even when it starts with a dash", () => {
  const r = parseFlags(["--name", "-x"], specs);
  assert.equal(r.flags.string("name"), "-x");
});

test("pflag's error texts", () => {
  assert.throws(() => parseFlags(["--foo"], specs), new FlagError("unknown flag: --foo"));
  assert.throws(() => parseFlags(["-x"], specs), new FlagError("unknown shorthand flag: 'x' in -x"));
  assert.throws(() => parseFlags(["-dx"], specs), new FlagError("unknown shorthand flag: 'x' in -dx"));
  assert.throws(() => parseFlags(["-e"], specs), new FlagError("flag needs an argument: 'e' in -e"));
  assert.throws(() => parseFlags(["--name"], specs), new FlagError("flag needs an argument: --name"));
  assert.throws(
    () => parseFlags(["--rm=maybe"], specs),
    new FlagError('invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
  );
  assert.throws(
    () => parseFlags(["--stop-timeout", "x"], specs),
    new FlagError('invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax'),
  );
});

test("validators get the flag's names in the error", () => {
  const sized: FlagSpec[] = [
    {
      name: "memory",
      short: "m",
      type: "bytes",
      description: "Memory limit",
      validate: (v) => {
        throw new Error(`invalid size: '${v}'`);
      },
    },
  ];
  assert.throws(
    () => parseFlags(["-m", "12xyz"], sized),
    new FlagError(`invalid argument "12xyz" for "-m, --memory" flag: invalid size: '12xyz'`),
  );
});

test("--help and -h (unless the command uses -h)", () => {
  assert.equal(parseFlags(["--help"], specs).help, true);
  assert.equal(parseFlags(["-h", "x"], specs).flags.string("hostname"), "x");
  assert.equal(parseFlags(["-h"], [{ name: "all", short: "a", bool: true, description: "" }]).help, true);
});

test("--help=VALUE and -h=VALUE take a Go bool, as cobra's help flag does", () => {
  assert.equal(parseFlags(["--help=false"], specs).help, false);
  assert.equal(parseFlags(["--help=1"], specs).help, true);
  assert.equal(parseFlags(["-h=true"], []).help, true);
  const invalid = new FlagError('invalid argument "x" for "--help" flag: strconv.ParseBool: parsing "x": invalid syntax');
  assert.throws(() => parseFlags(["--help=x"], specs), invalid);
  assert.throws(() => parseFlags(["-h=x"], []), invalid);
});

test("help lists flags sorted, with types and defaults", () => {
  const text = renderFlagUsages([
    { name: "tail", short: "n", type: "string", description: "Number of lines", defaultText: '"all"' },
    { name: "follow", short: "f", bool: true, description: "Follow log output" },
  ]);
  assert.equal(
    text,
    [
      "  -f, --follow        Follow log output",
      "      --help          Print usage",
      '  -n, --tail string   Number of lines (default "all")',
    ].join("\n"),
  );
});
