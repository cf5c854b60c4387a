/**
 * Go text/template as docker runs it. Expected outputs and error messages were taken from the
 * docker 28.2.2 CLI (`docker context inspect default --format ...`) where JavaScript values can
 * express the same thing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { goJson, parseTemplate, renderTemplate, TemplateError } from "../../src/cli/format/template";

const r = renderTemplate;

function fails(source: string, data: unknown, message: string | RegExp): void {
  assert.throws(
    () => r(source, data),
    (err: unknown) => {
      assert.ok(err instanceof TemplateError, `expected TemplateError, got ${String(err)}`);
      if (typeof message === "string") assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

/** A struct-like context, as the CLI's row contexts are. */
class Ctx {
  readonly Name = "default";
  private readonly labels: Record<string, string> = { "com.example": "yes", "a.b": "c" };
  get Names(): string {
    return "web,db";
  }
  Label(name: string): string {
    return this.labels[name] ?? "";
  }
  Upper(s: string, n: number): string {
    return s.toUpperCase().repeat(n);
  }
  Fails(): string {
    throw new Error("boom");
  }
}

test("text, actions, comments and trim markers", () => {
  assert.equal(r("hello", null), "hello");
  assert.equal(r("", null), "");
  assert.equal(r("a{{/* comment */}}b", null), "ab");
  assert.equal(r("a {{- /* c */ -}} b", null), "ab");
  assert.equal(r("a  {{- 1 -}}  b", null), "a1b");
  assert.equal(r("a \n\t{{- 1}} b", null), "a1 b");
  assert.equal(r("{{1 -}}\n\n x", null), "1x");
  assert.equal(r("{{3 -}} {{- 4}}|{{-3}}|{{- 3 }}", null), "34|-3|3");
  assert.equal(r("{{.Name}}{{/* comment\nspanning */}}", new Ctx()), "default");
  assert.equal(r('{{printf "%s"\n  "multi-line action"}}', null), "multi-line action");
});

test("dot, fields, chains on objects and Maps, $", () => {
  const data = { A: { B: { C: "deep" } }, M: new Map<string, unknown>([["k", { V: 1 }]]), S: "s" };
  assert.equal(r("{{.A.B.C}}", data), "deep");
  assert.equal(r("{{.M.k.V}}", data), "1");
  assert.equal(r("{{.}}", "x"), "x");
  assert.equal(r("{{with .A}}{{$.S}}{{.B.C}}{{end}}", data), "sdeep");
  assert.equal(r("{{(.A).B.C}}", data), "deep");
  assert.equal(r("{{$x := .A}}{{$x.B.C}}", data), "deep");
  // Missing map keys print "<no value>", and so does a chain through one.
  assert.equal(r("{{.Missing}}|{{.Missing.Deeper}}|{{.M.nope}}", data), "<no value>|<no value>|<no value>");
  // JSON null is Go's nil interface: "<no value>" in an action, an error to walk through.
  assert.equal(r("{{.N}}", { N: null }), "<no value>");
  fails("{{.N.x}}", { N: null }, 'template: :1:4: executing "" at <.N.x>: nil pointer evaluating interface {}.x');
});

test("struct-like objects: missing fields are errors, getters and methods are called", () => {
  const ctx = new Ctx();
  assert.equal(r("{{.Name}} {{.Names}}", ctx), "default web,db");
  assert.equal(r('{{.Label "com.example"}}|{{.Label "nope"}}', ctx), "yes|");
  assert.equal(r('{{.Upper "ab" 2}}', ctx), "ABAB");
  assert.equal(r('{{"x" | .Upper "y" | len}}', { Upper: (a: string, b: string) => a + b }), "2");
  assert.equal(r('{{"com.example" | .Label}}', ctx), "yes");
  assert.equal(r('{{if eq (.Label "a.b") "c"}}ok{{end}}', ctx), "ok");
  // Function-valued map entries are called too.
  assert.equal(r("{{.F}}", { F: () => "called" }), "called");
  fails("{{.Foo}}", ctx, `template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type Ctx`);
  fails("{{.Name.Foo}}", ctx, `template: :1:7: executing "" at <.Name.Foo>: can't evaluate field Foo in type string`);
  fails("{{.Name 1}}", ctx, `template: :1:2: executing "" at <.Name>: Name has arguments but cannot be invoked as function`);
  fails('{{"x" | .Name}}', ctx, `template: :1:8: executing "" at <.Name>: Name has arguments but cannot be invoked as function`);
  fails("{{.K 1}}", { K: "v" }, `template: :1:2: executing "" at <.K>: K is not a method but has arguments`);
  fails("{{.Fails}}", ctx, `template: :1:2: executing "" at <.Fails>: error calling Fails: boom`);
  fails("{{.constructor}}", ctx, /can't evaluate field constructor in type Ctx/);
});

test("plain objects hide Object.prototype members", () => {
  assert.equal(r("{{.toString}}|{{.constructor}}", {}), "<no value>|<no value>");
});

test("missingkey=error", () => {
  const tmpl = parseTemplate("{{.a}}");
  assert.throws(() => tmpl.execute({}, { missingKey: "error" }), /map has no entry for key "a"/);
  assert.equal(tmpl.execute({ a: 1 }, { missingKey: "error" }), "1");
});

test("literals", () => {
  assert.equal(r('{{"a\\tb\\n\\"q\\" \\x41\\101\\u00e9\\U0001F600"}}', null), 'a\tb\n"q" AAé😀');
  assert.equal(r("{{`raw\\n`}}", null), "raw\\n");
  assert.equal(r("{{true}} {{false}} {{3}} {{-2}} {{1.5}}", null), "true false 3 -2 1.5");
  assert.equal(r("{{017}}|{{0x1F}}|{{1_000}}|{{'a'}}|{{0b101}}|{{0o17}}|{{1e3}}|{{.5}}|{{+1}}", null), "15|31|1000|97|5|15|1000|0.5|1");
  assert.equal(r("{{1234567.5}}|{{100000.0}}|{{0.0001}}|{{0.00001}}|{{-0.0}}|{{1e21}}", null), "1.2345675e+06|100000|0.0001|1e-05|-0|1e+21");
  assert.equal(r("{{'\\n'}}|{{'\\''}}", null), "10|39");
  fails("{{nil}}", null, 'template: :1:2: executing "" at <nil>: nil is not a command');
});

test("variables: declare, assign, scope", () => {
  assert.equal(r("{{$x := 1}}{{$x = 2}}{{$x}}", null), "2");
  assert.equal(r("{{$x := 1}}{{$x := 2}}{{$x}}", null), "2");
  assert.equal(r('{{$a := "x"}}{{if true}}{{$a = "y"}}{{$b := 1}}{{end}}{{$a}}', null), "y");
  assert.equal(r("{{$x:=1}}{{$x}}", null), "1");
  assert.equal(r("{{$ := 1}}", null), "");
  assert.equal(r("{{with $x := 5}}{{$x}}{{end}}", null), "5");
  assert.throws(() => r("{{with $x := 5}}{{$x}}{{end}}{{$x}}", null), {
    message: 'template: :1: undefined variable "$x"',
  });
  assert.throws(() => r("{{if true}}{{$b := 1}}{{end}}{{$b}}", null), /undefined variable "\$b"/);
  assert.throws(() => r("{{$x, $y := 1}}", null), /too many declarations in command/);
  assert.throws(() => r("{{range $x, 1}}{{end}}", null), /range can only initialize variables/);
});

test("pipelines and parentheses", () => {
  assert.equal(r('{{"a" | printf "%s%s" "b"}}', null), "ba");
  assert.equal(r('{{printf "%d" 3 | printf "%s-%d" "a"}}', null), "a-%!d(string=3)");
  assert.equal(r('{{.Name | printf "%s!" | upper}}', new Ctx()), "DEFAULT!");
  assert.equal(r("{{ .Name | len }}", new Ctx()), "7");
  assert.equal(r('{{printf "%s" (printf "%d" 5)}}|{{(1)}}', null), "5|1");
  assert.throws(() => r('{{printf "%s"("b")}}', null), { message: 'template: :1: unexpected "(" in operand' });
  assert.throws(() => r("{{1|2}}", null), { message: "template: :1: non executable command in pipeline stage 2" });
  fails('{{"a" "b"}}', null, `template: :1:2: executing "" at <"a">: can't give argument to non-function "a"`);
  fails("{{. 1}}", null, `template: :1:2: executing "" at <.>: can't give argument to non-function .`);
  fails("{{(.Name) 1}}", new Ctx(), `template: :1:2: executing "" at <(.Name) 1>: can't give argument to non-function .Name`);
  fails('{{(split "a,b" ",").x}}', null, `template: :1:15: executing "" at <",">: can't evaluate field x in type []string`);
});

test("if / else if / else", () => {
  assert.equal(r("{{if 0}}a{{else if 1}}b{{else}}c{{end}}", null), "b");
  assert.equal(r("{{if .X}}y{{else}}n{{end}}", { X: [] }), "n");
  assert.equal(r("{{if .X}}y{{else}}n{{end}}", { X: {} }), "n");
  assert.equal(r("{{if .X}}y{{else}}n{{end}}", { X: new Map() }), "n");
  assert.equal(r("{{if .X}}y{{else}}n{{end}}", { X: "" }), "n");
  assert.equal(r("{{if .X}}y{{else}}n{{end}}", { X: new Ctx() }), "y");
  assert.equal(r("{{if .Missing}}y{{else}}n{{end}}", {}), "n");
  assert.equal(r('{{if and 1 (or 0 "x")}}yes{{end}}', null), "yes");
});

test("with / else with", () => {
  assert.equal(r("{{with .A}}[{{.}}]{{else}}none{{end}}", { A: "v" }), "[v]");
  assert.equal(r("{{with .A}}[{{.}}]{{else}}none{{end}}", {}), "none");
  assert.equal(r("{{with 0}}a{{else with 3}}{{.}}{{end}}", null), "3");
  assert.equal(r('{{with $x := "v"}}{{$x}}{{.}}{{end}}', null), "vv");
});

test("range over arrays, objects, Maps, integers, with else/break/continue", () => {
  assert.equal(r("{{range .}}<{{.}}>{{end}}", ["a", "b"]), "<a><b>");
  assert.equal(r("{{range $i, $v := .}}{{$i}}={{$v}};{{end}}", ["a", "b"]), "0=a;1=b;");
  assert.equal(r("{{range $v := .}}{{$v}}{{end}}", ["a", "b"]), "ab");
  // Maps iterate in sorted key order, as Go does.
  assert.equal(r("{{range $k, $v := .}}{{$k}}={{$v}} {{end}}", { b: 2, a: 1, c: 3 }), "a=1 b=2 c=3 ");
  const m = new Map<string, number>([["z", 1], ["y", 2]]);
  assert.equal(r("{{range $k, $v := .}}{{$k}}{{$v}}{{end}}", m), "y2z1");
  assert.equal(r("{{range .}}{{.}}{{end}}", new Map([[2, "b"], [10, "c"], [1, "a"]])), "abc");
  assert.equal(r("{{range 3}}{{.}}{{end}}|{{range $x := 3}}{{$x}}{{end}}", null), "012|012");
  assert.equal(r("{{range .}}x{{else}}empty{{end}}", []), "empty");
  assert.equal(r("{{range .X}}x{{else}}empty{{end}}", {}), "empty");
  assert.equal(r("{{range .X}}x{{else}}empty{{end}}", { X: null }), "empty");
  assert.equal(r("{{range 0}}x{{else}}none{{end}}", null), "none");
  assert.equal(
    r('{{range $i, $v := split "a,b,c" ","}}{{if eq $i 1}}{{continue}}{{end}}{{$i}}={{$v}};{{end}}', null),
    "0=a;2=c;",
  );
  assert.equal(r('{{range split "a,b" ","}}{{range split "1,2" ","}}{{if eq . "2"}}{{break}}{{end}}{{.}}{{end}}{{.}}{{end}}', null), "1a1b");
  assert.equal(r("{{range 2}}{{with 1}}{{continue}}{{end}}x{{end}}y", null), "y");
  assert.equal(r("{{$i := 0}}{{$v := 0}}{{range $i, $v = .}}{{end}}{{$i}}{{$v}}", ["a", "b"]), "1b");
  assert.equal(r("{{range .}}{{.}}{{end}}", new Set(["s1", "s2"])), "s1s2");
  fails("{{range .Name}}{{end}}", new Ctx(), `template: :1:8: executing "" at <.Name>: range can't iterate over default`);
  assert.throws(() => r("{{break}}", null), { message: "template: :1: {{break}} outside {{range}}" });
  assert.throws(() => r("{{continue}}", null), { message: "template: :1: {{continue}} outside {{range}}" });
  assert.throws(() => r("{{range 1}}{{else}}{{break}}{{end}}", null), /outside \{\{range\}\}/);
});

test("define, template, block", () => {
  assert.equal(r('{{define "T"}}[{{.}}]{{end}}{{template "T" "x"}}{{block "B" 3}}<{{.}}>{{end}}', null), "[x]<3>");
  assert.equal(r('{{define "a"}}{{.}}{{end}}{{template "a"}}', null), "<no value>");
  assert.equal(
    r('{{define "r"}}{{if lt (len .) 3}}{{template "r" (printf "%sx" .)}}{{else}}{{.}}{{end}}{{end}}{{template "r" ""}}', null),
    "xxx",
  );
  assert.equal(r('{{block "b" .Name}}[{{.}}]{{end}}|{{template "b" "z"}}', new Ctx()), "[default]|[z]");
  assert.equal(r('{{define "a"}}{{end}}{{define "b"}}{{end}}ok', null), "ok");
  // A defined template sees its own $.
  assert.equal(r('{{define "t"}}{{$}}{{end}}{{$x := 1}}{{template "t" 2}}', null), "2");
  fails('{{template "x"}}', null, `template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined`);
  fails('{{define "x"}}{{.Foo}}{{end}}{{template "x" .}}', new Ctx(), `template: :1:16: executing "x" at <.Foo>: can't evaluate field Foo in type Ctx`);
  assert.throws(() => r('{{define "T"}}a{{end}}{{define "T"}}b{{end}}', null), {
    message: 'template: :1: template: multiple definition of template "T"',
  });
  assert.throws(() => r('{{define "r"}}{{template "r" .}}{{end}}{{template "r" 1}}', null), /exceeded maximum template depth/);
});

test("syntax errors carry Go's messages and line numbers", () => {
  const cases: [string, string][] = [
    ["{{x}}", 'template: :1: function "x" not defined'],
    ["{{.Foo", "template: :1: unclosed action"],
    ['{{"abc}}', "template: :1: unterminated quoted string"],
    ["{{if 1}}x", "template: :1: unexpected EOF"],
    ["{{end}}", "template: :1: unexpected {{end}}"],
    ["{{else}}", "template: :1: unexpected {{else}}"],
    ["{{$x}}", 'template: :1: undefined variable "$x"'],
    ["{{/*x*/ }}", "template: :1: comment ends before closing delimiter"],
    ["{{/* x", "template: :1: unclosed comment"],
    ["{{if}}{{end}}", "template: :1: missing value for if"],
    ["{{range 1}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}"],
    ["{{(}}", "template: :1: unclosed left paren"],
    ["{{)}}", "template: :1: unexpected right paren"],
    ["{{1e}}", 'template: :1: illegal number syntax: "1e"'],
    ["{{--1}}", 'template: :1: bad number syntax: "--1"'],
    ["{{'ab'}}", "template: :1: malformed character constant: 'ab'"],
    ['{{"\\q"}}', "template: :1: invalid syntax"],
    ["{{#}}", 'template: :1: unexpected "#" in command'],
    ["{{true.x}}", 'template: :1: unexpected . after term "true"'],
    ["{{define 1}}{{end}}", 'template: :1: unexpected "1" in define clause'],
    ["{{template}}", 'template: :1: unexpected "}}" in template clause'],
    ["a\nb\n{{x}}", 'template: :3: function "x" not defined'],
  ];
  for (const [source, message] of cases) {
    assert.throws(() => parseTemplate(source), (err: unknown) => {
      assert.ok(err instanceof TemplateError);
      assert.equal(err.message, message, source);
      return true;
    });
  }
});

test("execution error locations: line and byte column", () => {
  fails("a\n  {{.Foo}}", new Ctx(), `template: :2:4: executing "" at <.Foo>: can't evaluate field Foo in type Ctx`);
  fails("é{{.Foo}}", new Ctx(), /^template: :1:4: /);
  assert.throws(() => parseTemplate("{{.X}}", { name: "ps" }).execute(new Ctx()), { message: /^template: ps:1:2: executing "ps"/ });
});

test("comparison builtins", () => {
  assert.equal(r('{{eq 1 2 1}}|{{eq "a" "a"}}|{{ne 1 2}}|{{lt 1 2}}|{{le 2 2}}|{{gt "b" "a"}}|{{ge 2 2}}', null), "true|true|true|true|true|true|true");
  assert.equal(r('{{eq "a" "b" "a"}}|{{ne "a" "a"}}|{{gt 1 2}}|{{le "b" "a"}}', null), "true|false|false|false");
  assert.equal(r("{{eq nil nil}}|{{ne nil 1}}|{{eq .Missing 1}}", {}), "true|true|false");
  const ctx = new Ctx();
  assert.equal(r("{{eq . .}}", ctx), "true");
  fails('{{eq 1 "a"}}', null, `template: :1:2: executing "" at <eq 1 "a">: error calling eq: incompatible types for comparison`);
  fails("{{lt true false}}", null, /error calling lt: invalid type for comparison/);
  fails("{{eq 1}}", null, /error calling eq: missing argument for comparison/);
  fails("{{lt nil 1}}", null, /invalid type for comparison/);
  fails('{{eq (split "a" ",") (split "a" ",")}}', null, /non-comparable type/);
});

test("logic builtins short-circuit and return an operand", () => {
  assert.equal(r('{{and 1 0 2}}|{{or 0 "" 3}}|{{and 1 2}}|{{or 0 ""}}|{{not 0}}|{{not "x"}}', null), "0|3|2||true|false");
  assert.equal(r("{{and 0 .Fails}}|{{or 1 .Fails}}", new Ctx()), "0|1");
  assert.equal(r("{{and 0}}|{{or 1}}|{{1 | and 2}}", null), "0|1|1");
  fails("{{not}}", null, `template: :1:2: executing "" at <not>: wrong number of args for not: want 1 got 0`);
  fails("{{and}}", null, `template: :1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0`);
});

test("len, index, slice", () => {
  assert.equal(r('{{len "héllo"}}|{{len .A}}|{{len .M}}|{{len .O}}', { A: [1, 2], M: new Map([["a", 1]]), O: { x: 1, y: 2 } }), "6|2|1|2");
  assert.equal(r('{{index "abc" 1}}|{{index .A 1}}|{{index .O "y"}}|{{index .M "a"}}|{{index .N 0 1}}', {
    A: ["a", "b"],
    O: { y: "Y" },
    M: new Map([["a", "MA"]]),
    N: [[1, 2]],
  }), "98|b|Y|MA|2");
  assert.equal(r('{{index .O "nope"}}|{{index .A}}', { O: {}, A: 5 }), "<no value>|5");
  assert.equal(r('{{slice "héllo" 1 3}}|{{slice .A 1}}|{{slice .A 1 2}}|{{slice .A}}|{{slice "abc" 3}}', { A: ["a", "b", "c"] }), "é|[b c]|[b]|[a b c]|");
  assert.equal(r("{{slice .A 0 1 2}}", { A: ["a", "b", "c"] }), "[a]");
  fails('{{index "abc" 99}}', null, `template: :1:2: executing "" at <index "abc" 99>: error calling index: index out of range: 99`);
  fails("{{index .A -1}}", { A: ["a"] }, /error calling index: index out of range: -1/);
  fails("{{index .A 1}}", { A: ["a"] }, /error calling index: reflect: slice index out of range/);
  fails('{{index .A "x"}}', { A: ["a"] }, /cannot index slice\/array with type string/);
  fails("{{index . 1}}", new Ctx(), /can't index item of type Ctx/);
  fails("{{len 3}}", null, `template: :1:2: executing "" at <len 3>: error calling len: len of type int`);
  fails('{{slice "abc" 2 1}}', null, /error calling slice: invalid slice index: 2 > 1/);
  fails('{{slice "abc" 1 5}}', null, /error calling slice: index out of range: 5/);
  fails('{{slice "abc" 1 2 3}}', null, /cannot 3-index slice a string/);
  fails("{{slice 1}}", null, /can't slice item of type int/);
});

test("print, println, printf", () => {
  assert.equal(r('{{print "a" 1 2 "b" "c" 3 true false}}|{{println "a" 1 2}}|{{print nil}}', null), "a1 2bc3 true false|a 1 2\n|<nil>");
  assert.equal(r("{{println}}|{{print}}x", null), "\n|x");
  assert.equal(r('{{printf "%05s|%-5s|%5.1s|%q|%#q|%+q" "ab" "ab" "xyz" "a\\"b" "ab" "é"}}', null), '000ab|ab   |    x|"a\\"b"|`ab`|"\\u00e9"');
  assert.equal(r('{{printf "%d %s %v" 3.5 5 nil}}', null), "%!d(float64=3.5) %!s(int=5) <nil>");
  assert.equal(r('{{printf "%d %d" 1}}|{{printf "%d" 1 2}}|{{printf "%!"}}|{{printf "%z" 1}}|{{printf "%s" }}', null), "1 %!d(MISSING)|1%!(EXTRA int=2)|%!!(MISSING)|%!z(int=1)|%!s(MISSING)");
  assert.equal(
    r('{{printf "%x %X % x %#x %o %O %b %c %U %e %E %g %G %.2e %8.3f|%-8.3f|%+d|% d|%08.3f|%+08d" "hi" 255 "hi" 255 8 8 5 65 65 1234.5678 1234.5678 0.00001234 1e21 1234.5678 3.14159 3.14159 5 5 -3.14159 42}}', null),
    "6869 FF 68 69 0xff 10 0o10 101 A U+0041 1.234568e+03 1.234568E+03 1.234e-05 1E+21 1.23e+03    3.142|3.142   |+5| 5|-003.142|+0000042",
  );
  assert.equal(r('{{printf "%v %d %s %q" .A .A .A .A}}', { A: ["a", "b"] }), '[a b] [%!d(string=a) %!d(string=b)] [a b] ["a" "b"]');
  assert.equal(r('{{printf "%.0f %.0f %.0f %.1f %.2f" 0.5 1.5 2.5 0.25 1.005}}', null), "0 2 2 0.2 1.00");
  assert.equal(r('{{printf "%[2]d %[1]d" 1 2}}|{{printf "%*d|%-*d|%.*f" 5 1 4 2 2 3.14159}}', null), "2 1|    1|2   |3.14");
  assert.equal(r('{{printf "%6.2f%%" 99.5}}|{{printf "%T %T %T %T" 1 1.5 "s" nil}}', null), " 99.50%|int float64 string <nil>");
  assert.equal(r('{{printf "%v|%+v" . .}}', { b: 2, a: "x" }), "map[a:x b:2]|map[a:x b:2]");
  assert.equal(r("{{printf \"%v\" .}}", new Map([["k", [1, "two", null]]])), "map[k:[1 two <nil>]]");
  fails("{{printf 1}}", null, `template: :1:9: executing "" at <1>: expected string; found 1`);
});

test("printing values like Go", () => {
  assert.equal(r("{{.}}", ["a", "b", 3]), "[a b 3]");
  assert.equal(r("{{.}}", { z: 1, a: [true, null] }), "map[a:[true <nil>] z:1]");
  assert.equal(r("{{.}}", new Map([["b", 1], ["a", 2]])), "map[a:2 b:1]");
  assert.equal(r("{{.}}", 1.5), "1.5");
  assert.equal(r("{{.}}", 12345678), "12345678");
  assert.equal(r("{{.}}", 10n), "10");
  assert.equal(r("{{.}}", true), "true");
  assert.equal(r("{{.}}", undefined), "<no value>");
  assert.equal(r("{{.}}", new Date(Date.UTC(2023, 10, 14, 22, 13, 20, 500))), "2023-11-14 22:13:20.5 +0000 UTC");
  assert.equal(r("{{.}}", new Error("bad")), "bad");
  assert.equal(r("{{.}}", { toString: undefined, x: 1 }), "map[toString:<nil> x:1]");
  class Stringer {
    toString(): string {
      return "custom";
    }
  }
  assert.equal(r("{{.}}", new Stringer()), "custom");
  // .F calls F; a function it returns is a value that can be called but not printed.
  const data = { F: () => (n: number) => n * 2 };
  assert.equal(r("{{$f := .F}}{{call $f 2}}", data), "4");
  fails("{{$f := .F}}{{$f}}", data, `template: :1:14: executing "" at <{{$f}}>: can't print {{$f}} of type func`);
});

test("html, js, urlquery, call", () => {
  assert.equal(
    r('{{html "<a href=\\"x\\">&\'</a>"}}|{{js "<a href=\\"x\\">&\'=\\n\\u2028é"}}|{{urlquery "a b&c=d/é~_-."}}', null),
    "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;|\\u003Ca href\\u003D\\\"x\\\"\\u003E\\u0026\\'\\u003D\\u000A\\u2028é|a+b%26c%3Dd%2F%C3%A9~_-.",
  );
  assert.equal(r("{{html nil}}|{{urlquery 1 2}}|{{html 1 \"a\" 2}}", null), "&lt;no value&gt;|1+2|1a2");
  assert.equal(r('{{call .F "a" 2}}', { F: (s: string, n: number) => s.repeat(n) }), "aa");
  fails("{{call .Name}}", new Ctx(), `template: :1:2: executing "" at <call .Name>: error calling call: non-function .Name of type string`);
  fails("{{call .X}}", {}, /error calling call: call of nil/);
  fails("{{call .F}}", { F: () => { throw new Error("inner"); } }, /error calling call: inner/);
});

test("docker's functions: json, join, split, lower, upper, title, truncate, pad", () => {
  assert.equal(r('{{json "<a&b>\\u2028\\b\\f\\u0001\\u007f"}}', null), '"<a&b>\\u2028\\b\\f\\u0001\u007f"');
  assert.equal(r("{{json 1e21}}|{{json 1e-7}}|{{json 0.1}}|{{json nil}}|{{json .}}", ["a"]), '1e+21|1e-7|0.1|null|["a"]');
  assert.equal(r("{{json .}}", { b: 1, a: { c: [true, null] }, u: undefined }), '{"b":1,"a":{"c":[true,null]}}');
  assert.equal(r("{{json .}}", new Map([["b", 1], ["a", 2]])), '{"a":2,"b":1}');
  assert.equal(r("{{json .Missing}}", {}), "null");
  assert.equal(r('{{join .A ", "}}|{{join .N "-"}}|{{join .M ","}}|{{join .X ","}}', { A: ["a", "b"], N: [1, 2], M: { x: "2", y: "1" } }), "a, b|1-2|1,2|");
  assert.equal(r('{{split "a,b" ","}}|{{split "abc" ""}}|{{split "" ","}}|{{len (split "" ",")}}', null), "[a b]|[a b c]|[]|1");
  assert.equal(r('{{lower "ÀBC"}}|{{upper "straße"}}|{{title "hello-world foo_bar élan"}}|{{title "hello wOrld"}}', null), "àbc|STRAßE|Hello-World Foo_bar Élan|Hello WOrld");
  assert.equal(r('{{truncate "abc" 5}}|{{truncate "abcdef" 3}}|{{truncate "abc" 3}}|{{truncate "héllo" 2}}', null), "abc|abc|abc|h\ufffd");
  assert.equal(r('{{pad "x" 2 3}}|{{pad "" 2 3}}|', null), "  x   ||");
  fails("{{upper 5}}", null, `template: :1:8: executing "" at <5>: expected string; found 5`);
  fails("{{upper .N}}", { N: 5 }, /wrong type for value; expected string; got int/);
  fails('{{truncate "abc" 1.5}}', null, /expected integer; found 1.5/);
  fails('{{split "a,b" "," | join}}', null, `template: :1:20: executing "" at <join>: wrong number of args for join: want 2 got 1`);
  fails("{{json .}}", { x: NaN }, /error calling json: json: unsupported value: NaN/);
});

test("goJson: Go's encoding/json bytes", () => {
  assert.equal(goJson({ s: "<&>" }), '{"s":"<&>"}');
  assert.equal(goJson({ s: "<&>" }, { escapeHTML: true }), '{"s":"\\u003c\\u0026\\u003e"}');
  assert.equal(goJson("\u2029\t\r\x1b"), '"\\u2029\\t\\r\\u001b"');
  assert.equal(goJson(new Uint8Array([104, 105])), '"aGk="');
  assert.equal(goJson(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), '"2024-01-02T03:04:05Z"');
  assert.equal(goJson({ toJSON: () => ({ z: 1 }) }), '{"z":1}');
  assert.equal(goJson([undefined, () => 1]), "[null,null]");
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => goJson(cyclic), /cycle/);
});

test("json of a row context: its exported getters and methods, sorted, HTML-escaped (docker's marshalMap)", () => {
  class Row {
    readonly ID = "abc";
    private readonly secret = "hidden";
    get Command(): string {
      return "sh -c 'a > b'";
    }
    Names(): string {
      return "web";
    }
    Label(name: string): string {
      return name;
    }
    FullHeader(): string {
      return "no";
    }
  }
  assert.equal(r("{{json .}}", new Row()), '{"Command":"sh -c \'a \\u003e b\'","ID":"abc","Names":"web"}');
});

test("functions supplied by the caller, at parse or execution time", () => {
  const t = parseTemplate('{{shout "hi"}}', { funcs: { shout: (s: string) => s.toUpperCase() + "!" } });
  assert.equal(t.execute(null), "HI!");
  assert.equal(t.execute(null, { funcs: { shout: () => "quiet" } }), "quiet");
  // Caller functions may replace builtins.
  assert.equal(r('{{upper "x"}}', null, { funcs: { upper: () => "replaced" } }), "replaced");
  assert.throws(() => parseTemplate("{{nope}}"), /function "nope" not defined/);
  // Parse-time functions belong to that template only.
  assert.throws(() => parseTemplate('{{shout "x"}}'), /function "shout" not defined/);
});

test("executePartial keeps the output written before an error", () => {
  const t = parseTemplate("a{{.X}}b{{.Y.Z 1}}c");
  const { output, error } = t.executePartial({ X: 1, Y: { Z: 2 } });
  assert.equal(output, "a1b");
  assert.ok(error instanceof TemplateError);
  assert.deepEqual(t.executePartial({ X: 1, Y: { Z: () => 2 } }), { output: "a1b2c" });
});
