/** What version, info and system share: wharf's own version and --format rendering. */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliIO } from "../command";
import { messageOf, StatusError } from "../errors";

/** wharf's own version, from package.json beside dist/ (or the source tree). */
export function clientVersion(): string {
  for (const candidate of [path.resolve(__dirname, "../../../../package.json"), path.resolve(__dirname, "../../../package.json")]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "wharf" && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "unknown";
}

export function goArch(): string {
  const map: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm" };
  return map[process.arch] ?? process.arch;
}

/** `name` is the template's name in error messages ("version" for docker's version). */
export async function renderFormat(io: CliIO, format: string, data: unknown, name = ""): Promise<void> {
  const { renderTemplate } = await import("../format/template");
  let text: string;
  try {
    text = renderTemplate(format === "json" ? "{{json .}}" : format, data, { name });
  } catch (err) {
    throw new StatusError(`template parsing error: ${messageOf(err)}`, 64);
  }
  io.stdout.write(`${text}\n`);
}
