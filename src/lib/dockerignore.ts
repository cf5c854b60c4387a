import * as path from "node:path";
import { compileGlob, type GlobMatcher } from "./glob";

/**
 * .dockerignore with Docker's semantics (moby/patternmatcher): one pattern a line, `#` comments,
 * patterns cleaned like filepath.Clean with a leading "/" dropped, Go filepath.Match syntax
 * (`*`, `?`, `[a-z]`, `\` escapes) plus `**` for any number of directories, `!` for exceptions.
 * A path is excluded when the last pattern that matches it, or one of its parent directories,
 * is not an exception.
 */

interface Pattern {
  exclusion: boolean;
  source: string;
  re: GlobMatcher;
}

export class DockerIgnore {
  private readonly patterns: Pattern[];

  constructor(text: string) {
    this.patterns = [];
    for (const rawLine of text.split(/\r?\n/)) {
      let line = rawLine;
      if (line.startsWith("#")) continue;
      line = line.trim();
      if (line === "") continue;
      let exclusion = false;
      if (line.startsWith("!")) {
        exclusion = true;
        line = line.slice(1).trim();
      }
      let cleaned = path.posix.normalize(line);
      cleaned = cleaned.replace(/^\/+/, "").replace(/\/+$/, "");
      if (cleaned === "" || cleaned === ".") cleaned = ".";
      this.patterns.push({ exclusion, source: cleaned, re: compileGlob(cleaned, { doubleStar: true }) });
    }
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `rel` (context-relative, "/"-separated) is excluded. */
  excluded(rel: string): boolean {
    const parts = rel.split("/").filter(Boolean);
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue; // only a pattern that can change the result
      let hit = p.re.test(parts.join("/"));
      for (let n = 1; !hit && n < parts.length; n++) hit = p.re.test(parts.slice(0, n).join("/"));
      if (hit) matched = !p.exclusion;
    }
    return matched;
  }
}
