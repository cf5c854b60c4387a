import assert from "node:assert/strict";
import { test } from "node:test";
import * as fc from "fast-check";
import { parseTemplate, renderTemplate, TemplateError } from "../../src/cli/format/template";
import { fuzzParams, stringFrom } from "./fuzz-settings";

/** The --format engine (Go's text/template as docker uses it) meets random templates and data. */

const TOKENS = [
  "{{", "}}", "{{-", "-}}", " ", ".", ".Name", ".Config.Env", ".[0]", "$", "$x", ":=", "=", "|", "(", ")", ",",
  "json", "join", "range", "end", "if", "else", "with", "define", "template", "block", "break", "continue",
  "printf", '"%s"', '"%d"', "len", "index", "slice", "eq", "ne", "lt", "and", "or", "not", "upper", "lower",
  "split", "title", "truncate", "pad", "table", "println", "\\t", "\n", '"', "`", "1", "-1", "3.5", "nil", "true", "/*", "*/", "x",
];

const data = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ Name: fc.string(), Config: fc.record({ Env: fc.array(fc.string(), { maxLength: 3 }) }), Ports: fc.array(fc.integer()) }),
);

test("any template with any data: output, or a template error with Go's message", () => {
  fc.assert(
    fc.property(stringFrom(TOKENS, 24), data, (source, value) => {
      try {
        const out = renderTemplate(source, value);
        assert.equal(typeof out, "string");
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        assert.match(err.message, /^template: /);
      }
    }),
    fuzzParams(),
  );
});

test("text without actions renders to itself", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }).filter((s) => !s.includes("{{")), fc.jsonValue({ maxDepth: 2 }), (text, value) => {
      assert.equal(renderTemplate(text, value), text);
    }),
    fuzzParams(),
  );
});

/** Go's encoding/json for a string, as docker's `json` func writes it (no HTML escaping). */
function goJsonString(s: string): string {
  const wellFormed = s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
  return JSON.stringify(wellFormed).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

test("a field action prints the field; json prints it as Go's encoder does", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 30 }), (name) => {
      assert.equal(parseTemplate("{{.Name}}").execute({ Name: name }), name);
      assert.equal(renderTemplate("{{json .Name}}", { Name: name }), goJsonString(name));
    }),
    fuzzParams(),
  );
});
