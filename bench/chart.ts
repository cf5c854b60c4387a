import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { type Row, ratio } from "./harness";

/**
 * A bar chart of the ratios wharf/Docker on a log scale around 1.0, written as SVG (no
 * dependency), and as PNG when `rsvg-convert` (Debian's librsvg2-bin) is installed.
 * Green: wharf wins the row (lower time/memory, or higher throughput); red: Docker wins.
 * Returns the files written.
 */
export function writeChart(rows: Row[], title: string, basePath: string): string[] {
  const data = rows.map((r) => ({ r, q: ratio(r) })).filter((x): x is { r: Row; q: number } => x.q !== null && x.q > 0);
  if (!data.length) return [];
  const labelW = 380;
  const plotW = 420;
  const rowH = 22;
  const top = 50;
  const height = top + data.length * rowH + 40;
  const width = labelW + plotW + 80;
  const maxLog = Math.max(2, ...data.map((d) => Math.ceil(Math.abs(Math.log2(d.q)))));
  const x = (q: number): number => labelW + plotW / 2 + (Math.log2(q) / maxLog) * (plotW / 2);
  const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="38" fill="#555">ratio wharf/Docker, log scale; green = wharf better, red = Docker better</text>`,
  ];
  for (let k = -maxLog; k <= maxLog; k++) {
    const q = 2 ** k;
    parts.push(`<line x1="${x(q)}" y1="${top - 4}" x2="${x(q)}" y2="${top + data.length * rowH}" stroke="${k === 0 ? "#000" : "#ddd"}"/>`);
    parts.push(`<text x="${x(q)}" y="${top + data.length * rowH + 16}" text-anchor="middle" fill="#555">${q >= 1 ? q : q.toFixed(q < 0.1 ? 3 : 2)}</text>`);
  }
  data.forEach(({ r, q }, i) => {
    const y = top + i * rowH;
    const wharfWins = r.better === "lower" ? q < 1 : q > 1;
    const x0 = Math.min(x(1), x(q));
    const w = Math.max(1, Math.abs(x(q) - x(1)));
    parts.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(`${r.scenario.trim()} (${r.unit})`)}</text>`);
    parts.push(`<rect x="${x0}" y="${y + 4}" width="${w}" height="${rowH - 8}" fill="${wharfWins ? "#2a9d5c" : "#d0453a"}"/>`);
    parts.push(`<text x="${labelW + plotW + 8}" y="${y + 15}">${q.toFixed(2)}</text>`);
  });
  parts.push("</svg>");
  const svg = `${basePath}.svg`;
  fs.writeFileSync(svg, parts.join("\n"));
  const out = [svg];
  const conv = spawnSync("rsvg-convert", ["-o", `${basePath}.png`, svg], { stdio: "ignore" });
  if (conv.status === 0) out.push(`${basePath}.png`);
  return out;
}

if (require.main === module) {
  // node dist/bench/chart.js OUT_BASE RESULTS.json... : one chart from the rows of earlier runs.
  const [base, ...files] = process.argv.slice(2);
  if (!base || !files.length) {
    console.error("usage: node dist/bench/chart.js OUT_BASE bench/results/suite-….json …");
    process.exit(2);
  }
  const loaded = files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as { machine: string; quick: boolean; rows: Row[] });
  const rows = loaded.flatMap((d) => d.rows);
  const title = `wharf vs Docker 20.10${loaded.some((d) => d.quick) ? " (quick)" : ""}, --network none — ${loaded[0].machine.split(", ").slice(0, 3).join(", ")}`;
  console.log(writeChart(rows, title, base).join("\n"));
}
