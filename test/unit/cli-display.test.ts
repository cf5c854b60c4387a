/** ps / images / history rows with fixed data and a fixed "now", as docker would print them. */
process.env.TZ = "UTC";

import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ContainerRow, displayablePorts, psFormat, CONTAINER_HEADERS, DEFAULT_PS_FORMAT } from "../../src/cli/display/containers";
import { HistoryRow, imageRows, imagesFormat, IMAGE_HEADERS, DEFAULT_IMAGES_FORMAT, historyFormat } from "../../src/cli/display/images";
import { ellipsis, goTimeString, indentJson, rfc3339, truncateId } from "../../src/cli/display/text";
import { diskUsageRows } from "../../src/cli/commands/system";
import { alignTabs } from "../../src/cli/commands/version";
import { renderTemplate } from "../../src/cli/format/template";
import { formatRows } from "../../src/cli/format/table";

const NOW = Date.UTC(2024, 0, 2, 12, 0, 0);
const nowSec = NOW / 1000;

const container = {
  Id: "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0",
  Names: ["/web", "/other/alias"],
  Image: "docker.io/library/busybox:latest",
  ImageID: "sha256:" + "ab".repeat(32),
  Command: "sh -c 'while true; do sleep 1; done'",
  Created: nowSec - 5,
  Ports: [
    { IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
    { PrivatePort: 9001, Type: "tcp" },
    { PrivatePort: 9000, Type: "tcp" },
    { PrivatePort: 53, Type: "udp" },
  ],
  SizeRw: 1234,
  SizeRootFs: 4_260_000,
  Labels: { b: "2", a: "1" },
  State: "running",
  Status: "Up 4 seconds",
  NetworkSettings: { Networks: { bridge: {} } },
  Mounts: [{ Name: "averyveryverylongvolumename", Source: "/var/lib/x", Driver: "local" }, { Source: "/host/path" }],
};

test("ps row fields, truncated", () => {
  const row = new ContainerRow(container, true, NOW);
  assert.equal(row.ID, "4f1e2d3c4b5a");
  assert.equal(row.Names, "web");
  assert.equal(row.Image, "busybox:latest");
  assert.equal(row.Command, '"sh -c \'while true; …"');
  assert.equal(row.RunningFor, "5 seconds ago");
  assert.equal(row.CreatedAt, "2024-01-02 11:59:55 +0000 UTC");
  assert.equal(row.Status, "Up 4 seconds");
  assert.equal(row.State, "running");
  assert.equal(row.Ports, "53/udp, 9000-9001/tcp, 0.0.0.0:8080->80/tcp");
  assert.equal(row.Size, "1.23kB (virtual 4.26MB)");
  assert.equal(row.Labels, "a=1,b=2");
  assert.equal(row.Label("b"), "2");
  assert.equal(row.Label("zzz"), "");
  assert.equal(row.Mounts, "averyveryveryl…,/host/path");
  assert.equal(row.LocalVolumes, "1");
  assert.equal(row.Networks, "bridge");
});

test("ps row fields, --no-trunc", () => {
  const row = new ContainerRow(container, false, NOW);
  assert.equal(row.ID, container.Id);
  assert.equal(row.Names, "web,other/alias");
  assert.equal(row.Image, "docker.io/library/busybox:latest");
  assert.equal(row.Command, `"sh -c 'while true; do sleep 1; done'"`);
});

test("ps image column: by id, digests dropped, <no image>", () => {
  const byId = new ContainerRow({ ...container, Image: "sha256:" + "ab".repeat(32) }, true, NOW);
  assert.equal(byId.Image, "abababababab");
  const digested = new ContainerRow({ ...container, Image: "busybox:1.36@sha256:" + "cd".repeat(32) }, true, NOW);
  assert.equal(digested.Image, "busybox:1.36");
  assert.equal(new ContainerRow({ ...container, Image: "" }, true, NOW).Image, "<no image>");
  assert.equal(new ContainerRow({ ...container, Image: "localhost:5000/app" }, true, NOW).Image, "localhost:5000/app");
});

test("command quoting escapes like Go's strconv.Quote", () => {
  const row = new ContainerRow({ ...container, Command: 'echo "hi"\tthere' }, false, NOW);
  assert.equal(row.Command, '"echo \\"hi\\"\\tthere"');
});

test("ports: groups, host mappings, IPv6", () => {
  assert.equal(displayablePorts([]), "");
  assert.equal(
    displayablePorts([
      { IP: "0.0.0.0", PrivatePort: 80, PublicPort: 80, Type: "tcp" },
      { IP: "0.0.0.0", PrivatePort: 81, PublicPort: 81, Type: "tcp" },
      { IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
      { PrivatePort: 5000, Type: "tcp" },
      { PrivatePort: 5002, Type: "tcp" },
    ]),
    // docker emits a finished group as soon as a gap shows, the open ones at the end
    "5000/tcp, 0.0.0.0:80-81->80-81/tcp, 5002/tcp, [::]:8080->80/tcp",
  );
});

test("ps formats for the flags", () => {
  assert.equal(psFormat("", false, false), DEFAULT_PS_FORMAT);
  assert.equal(psFormat("", false, true), `${DEFAULT_PS_FORMAT}\t{{.Size}}`);
  assert.equal(psFormat("", true, false), "{{.ID}}");
  assert.equal(psFormat("{{.Names}}", true, false), "{{.ID}}");
  assert.equal(psFormat("table {{.Names}}", false, false), "table {{.Names}}");
  assert.equal(CONTAINER_HEADERS.RunningFor, "CREATED");
  assert.equal(CONTAINER_HEADERS.ID, "CONTAINER ID");
});

test("json of a ps row has docker's keys", () => {
  const json = JSON.parse(renderTemplate("{{json .}}", new ContainerRow(container, true, NOW))) as Record<string, string>;
  assert.deepEqual(Object.keys(json).sort(), [
    "Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names", "Networks", "Platform", "Ports",
    "RunningFor", "Size", "State", "Status",
  ]);
  assert.equal(json.Names, "web");
});

const images = [
  {
    Id: "sha256:" + "1a".repeat(32),
    RepoTags: ["busybox:latest", "busybox:1.36", "docker.io/library/busybox:stable"],
    RepoDigests: ["busybox@sha256:" + "9f".repeat(32)],
    Created: nowSec - 3 * 86400,
    Size: 4_261_550,
  },
  { Id: "sha256:" + "2b".repeat(32), RepoTags: [], RepoDigests: [], Created: nowSec - 7200, Size: 999 },
  { Id: "sha256:" + "3c".repeat(32), RepoTags: null, RepoDigests: ["app@sha256:" + "77".repeat(32)], Created: nowSec - 60, Size: 1_500_000_000 },
];

test("image rows: one per tag, dangling as <none>, digest-only repos", () => {
  const rows = imageRows(images, { trunc: true, showDigests: false, nowMs: NOW });
  assert.deepEqual(
    rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size]),
    [
      ["busybox", "latest", "1a1a1a1a1a1a", "3 days ago", "4.26MB"],
      ["busybox", "1.36", "1a1a1a1a1a1a", "3 days ago", "4.26MB"],
      ["busybox", "stable", "1a1a1a1a1a1a", "3 days ago", "4.26MB"],
      ["<none>", "<none>", "2b2b2b2b2b2b", "2 hours ago", "999B"],
      ["app", "<none>", "3c3c3c3c3c3c", "About a minute ago", "1.5GB"],
    ],
  );
  assert.equal(rows[0].Digest, "<none>");
  assert.equal(rows[4].Digest, "");
});

test("image rows with digests", () => {
  const rows = imageRows(images, { trunc: false, showDigests: true, nowMs: NOW });
  assert.equal(rows[0].Digest, "sha256:" + "9f".repeat(32));
  assert.equal(rows[0].ID, "sha256:" + "1a".repeat(32));
  assert.equal(rows[4].Digest, "sha256:" + "77".repeat(32));
});

test("images formats for the flags", () => {
  assert.equal(imagesFormat("", false, false), DEFAULT_IMAGES_FORMAT);
  assert.match(imagesFormat("", false, true), /\{\{\.Digest\}\}/);
  assert.equal(imagesFormat("", true, true), "{{.ID}}");
  assert.equal(imagesFormat("table {{.ID}}", false, true), "table {{.ID}}\t{{.Digest}}");
  assert.equal(IMAGE_HEADERS.ID, "IMAGE ID");
});

test("history rows: human and not", () => {
  const item = { Id: "sha256:" + "ef".repeat(32), Created: nowSec - 86400 * 10, CreatedBy: "/bin/sh -c #(nop) ADD file:abcdef in /\tx", Size: 4_260_000, Comment: "imported" };
  const human = new HistoryRow(item, true, true, NOW);
  assert.equal(human.ID, "efefefefefef");
  assert.equal(human.CreatedSince, "10 days ago");
  assert.equal(human.CreatedBy, "/bin/sh -c #(nop) ADD file:abcdef in / x");
  assert.equal(human.Size, "4.26MB");
  const raw = new HistoryRow({ ...item, Id: "<missing>" }, true, false, NOW);
  assert.equal(raw.ID, "<missing>");
  assert.equal(raw.CreatedSince, "2023-12-23T12:00:00Z");
  assert.equal(raw.Size, "4260000");
  assert.equal(new HistoryRow({ ...item, Created: 0 }, true, true, NOW).CreatedSince, "N/A");
  assert.equal(new HistoryRow({ ...item, CreatedBy: "x".repeat(60) }, true, true, NOW).CreatedBy, "x".repeat(44) + "…");
  assert.equal(historyFormat("", true, true), "{{.ID}}");
  assert.match(historyFormat("", false, false), /CreatedAt/);
});

test("text helpers", () => {
  assert.equal(truncateId("sha256:0123456789abcdef"), "0123456789ab");
  assert.equal(truncateId("abc"), "abc");
  assert.equal(ellipsis("hello world", 5), "hell…");
  assert.equal(ellipsis("hello", 5), "hello");
  assert.equal(ellipsis("日本語のテキスト", 7), "日本語…");
  assert.equal(goTimeString(0), "1970-01-01 00:00:00 +0000 UTC");
  assert.equal(rfc3339(1704196800), "2024-01-02T12:00:00Z");
});

test("inspect JSON is re-indented like Go's json.Indent, order and numbers kept", () => {
  const raw = '{"b":1,"a":[],"c":{},"d":[1,{"x":"y, \\"z\\": {"}],"e":12345678901234567890}';
  assert.equal(
    indentJson(`[${raw}]`, "    "),
    [
      "[",
      "    {",
      '        "b": 1,',
      '        "a": [],',
      '        "c": {},',
      '        "d": [',
      "            1,",
      "            {",
      '                "x": "y, \\"z\\": {"',
      "            }",
      "        ],",
      '        "e": 12345678901234567890',
      "    }",
      "]",
    ].join("\n"),
  );
  assert.equal(indentJson('[ {"a" : 1} ]', ""), '[{"a":1}]');
});

test("version layout: tab-aligned at 20 columns", () => {
  assert.equal(alignTabs("Client:\n Version:\t1.0\n API version:\t1.47\n\nServer:\n  Experimental:\tfalse"), [
    "Client:",
    " Version:           1.0",
    " API version:       1.47",
    "",
    "Server:",
    "  Experimental:     false",
  ].join("\n"));
});

test("system df summary rows", () => {
  const rows = diskUsageRows({
    LayersSize: 1000,
    Images: [{ Size: 600, SharedSize: 0, Containers: 1 }, { Size: 400, SharedSize: 0, Containers: 0 }],
    Containers: [{ SizeRw: 10, State: "running" }, { SizeRw: 30, State: "exited" }],
    Volumes: [],
    BuildCache: [],
  });
  assert.deepEqual(rows[0], { Type: "Images", TotalCount: "2", Active: "1", Size: "1kB", Reclaimable: "400B (40%)" });
  assert.deepEqual(rows[1], { Type: "Containers", TotalCount: "2", Active: "1", Size: "40B", Reclaimable: "30B (75%)" });
  assert.deepEqual(rows[2], { Type: "Local Volumes", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B" });
});

test("ps table as docker lays it out", () => {
  const rows = [
    new ContainerRow(container, true, NOW),
    new ContainerRow({ Id: "b".repeat(64), Names: ["/idle"], Image: "busybox", ImageID: "", Command: "true", Created: nowSec - 7200, State: "exited", Status: "Exited (0) 2 hours ago" }, true, NOW),
  ];
  assert.equal(
    formatRows(psFormat("", false, false), rows, CONTAINER_HEADERS),
    [
      "CONTAINER ID   IMAGE            COMMAND                  CREATED         STATUS                   PORTS                                         NAMES",
      '4f1e2d3c4b5a   busybox:latest   "sh -c \'while true; …"   5 seconds ago   Up 4 seconds             53/udp, 9000-9001/tcp, 0.0.0.0:8080->80/tcp   web',
      'bbbbbbbbbbbb   busybox          "true"                   2 hours ago     Exited (0) 2 hours ago                                                 idle',
      "",
    ].join("\n"),
  );
  assert.equal(
    formatRows('table {{.Names}}\t{{.Label "com.example.team-name"}}', rows, CONTAINER_HEADERS),
    "NAMES     team name\nweb       \nidle      \n",
  );
  assert.equal(formatRows("{{.ID}}", rows, CONTAINER_HEADERS), "4f1e2d3c4b5a\nbbbbbbbbbbbb\n");
});

test("images table as docker lays it out", () => {
  const rows = imageRows(images, { trunc: true, showDigests: false, nowMs: NOW });
  assert.equal(
    formatRows(imagesFormat("", false, false), rows, IMAGE_HEADERS),
    [
      "REPOSITORY   TAG       IMAGE ID       CREATED              SIZE",
      "busybox      latest    1a1a1a1a1a1a   3 days ago           4.26MB",
      "busybox      1.36      1a1a1a1a1a1a   3 days ago           4.26MB",
      "busybox      stable    1a1a1a1a1a1a   3 days ago           4.26MB",
      "<none>       <none>    2b2b2b2b2b2b   2 hours ago          999B",
      "app          <none>    3c3c3c3c3c3c   About a minute ago   1.5GB",
      "",
    ].join("\n"),
  );
  const json = JSON.parse(formatRows("json", rows.slice(3, 4), IMAGE_HEADERS)) as Record<string, string>;
  assert.equal(json.Repository, "<none>");
  assert.match(formatRows("json", rows.slice(3, 4), IMAGE_HEADERS), /"Digest":"\\u003cnone\\u003e"/);
});
