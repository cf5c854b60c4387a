/**
 * docker's list formatting: `table` formats aligned as Go's tabwriter(minwidth 10, padding 3)
 * lays them out; expectations checked against docker 28's `docker context ls --format`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatRows, tabwriter } from "../../src/cli/format/table";
import { TemplateError } from "../../src/cli/format/template";

class ContainerRow {
  constructor(
    readonly ID: string,
    private readonly image: string,
    private readonly names: string,
    private readonly labels: Record<string, string> = {},
  ) {}
  get Image(): string {
    return this.image;
  }
  Names(): string {
    return this.names;
  }
  Label(name: string): string {
    return this.labels[name] ?? "";
  }
}

const headers = { ID: "CONTAINER ID", Image: "IMAGE", Names: "NAMES", Label: "LABEL" };
const rows = [
  new ContainerRow("abc123def456", "busybox", "web", { tier: "front" }),
  new ContainerRow("0123456789ab", "debian:bookworm", "db"),
];

test("table: header from the same template, columns aligned like docker ps", () => {
  assert.equal(
    formatRows("table {{.ID}}\\t{{.Image}}\\t{{.Names}}", rows, headers),
    "CONTAINER ID   IMAGE             NAMES\n" +
      "abc123def456   busybox           web\n" +
      "0123456789ab   debian:bookworm   db\n",
  );
});

test("table: minimum width 10, last cell never padded, empty trailing cells padded", () => {
  const one = [new ContainerRow("a", "b", "c")];
  assert.equal(formatRows("table {{.ID}}\\t{{.Names}}", one, headers), "CONTAINER ID   NAMES\na              c\n");
  assert.equal(formatRows("table {{.Names}}\\t{{.ID}}|", one, headers), "NAMES     CONTAINER ID|\nc         a|\n");
  assert.equal(formatRows("table {{.Names}}\\t{{.Label \"x\"}}", one, headers), "NAMES     LABEL\nc         \n");
  assert.equal(formatRows("table {{.Names}}\\t", one, headers), "NAMES     \nc         \n");
});

test("table: header functions keep titles, pad still pads, methods take arguments", () => {
  assert.equal(
    formatRows('table {{upper .Names}}\\t{{json .ID}}\\t{{pad .Image 1 1}}\\t{{.Label "tier"}}', rows.slice(0, 1), headers),
    // Widths: 10 (min), 14+3 for the quoted ID, 9+3 for " busybox ".
    'NAMES     CONTAINER ID      IMAGE      LABEL\nWEB       "abc123def456"    busybox    front\n',
  );
  // A title computed from the method's argument.
  const dynamic = { ...headers, Label: (name: unknown) => String(name).toUpperCase() };
  assert.equal(formatRows('table {{.Label "tier"}}', rows.slice(0, 1), dynamic), "TIER\nfront\n");
});

test("table: header errors keep what was printed before them, as docker does", () => {
  // Unknown header keys are "<no value>"; json of one fails and the header stops there.
  assert.equal(formatRows("table {{.Names}}\\t{{.Foo}}", [], headers), "NAMES     <no value>\n");
  assert.equal(formatRows("table {{.Names}}\\t{{json .Foo}}\\t{{.ID}}", [], headers), "NAMES     \n");
});

test("table with no rows prints the header only", () => {
  assert.equal(formatRows("table {{.ID}}\\t{{.Names}}", [], headers), "CONTAINER ID   NAMES\n");
});

test("`table` alone (or an empty format) is the default table", () => {
  const short = { ID: "CONTAINER ID", Names: "NAMES" };
  const expected = "CONTAINER ID   NAMES\nabc123def456   web\n0123456789ab   db\n";
  assert.equal(formatRows("table", rows, short), expected);
  assert.equal(formatRows("", rows, short), expected);
  assert.equal(formatRows("table", rows, headers, { defaultTable: "table {{.ID}}\t{{.Names}}" }), expected);
});

test("non-table formats: one line per row, escapes expanded, no alignment", () => {
  assert.equal(formatRows("{{.ID}}", rows, headers), "abc123def456\n0123456789ab\n");
  assert.equal(formatRows("{{.ID}}\\t{{.Names}}", rows, headers), "abc123def456\tweb\n0123456789ab\tdb\n");
  assert.equal(formatRows("{{.ID}}\\n{{.Names}}", rows.slice(0, 1), headers), "abc123def456\nweb\n");
  assert.equal(formatRows("{{.ID}}", [], headers), "");
});

test("json and {{json .}} print one object per row", () => {
  const expected = '{"ID":"abc123def456","Image":"busybox","Names":"web"}\n';
  assert.equal(formatRows("json", rows.slice(0, 1), headers), expected);
  assert.equal(formatRows("{{json .}}", rows.slice(0, 1), headers), expected);
  assert.equal(formatRows("{{json .}}", [{ b: "<x>", a: 1 }], headers), '{"b":"<x>","a":1}\n');
});

test("\\n inside a table starts a new line; column blocks are aligned separately", () => {
  const out = formatRows("table {{.Names}}\\n{{.ID}}\\t{{.Image}}", rows, headers);
  assert.equal(
    out,
    "NAMES\nCONTAINER ID   IMAGE\nweb\nabc123def456   busybox\ndb\n0123456789ab   debian:bookworm\n",
  );
});

test("errors: parse and execution errors are TemplateErrors", () => {
  assert.throws(() => formatRows("table {{.ID", rows, headers), TemplateError);
  assert.throws(() => formatRows("{{.Nope}}", rows, headers), {
    message: 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type ContainerRow',
  });
});

test("tabwriter: Go's column blocks", () => {
  const opts = { minWidth: 0, padding: 1 };
  assert.equal(tabwriter(["a\tb\tc", "aaaaaaaaaaaaa\tb", "x"], opts), "a             b c\naaaaaaaaaaaaa b\nx\n");
  // A line without a tab ends the block: columns before and after it are sized separately.
  assert.equal(tabwriter(["a\tb", "x", "ccc\td"], opts), "a b\nx\nccc d\n");
  // Widths count runes, not UTF-16 units or bytes.
  assert.equal(tabwriter(["é\tx", "ab\ty"], opts), "é  x\nab y\n");
  assert.equal(tabwriter(["ab\tc"]), "ab        c\n");
  assert.equal(tabwriter([]), "");
  assert.equal(tabwriter([""]), "\n");
});
