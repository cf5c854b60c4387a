/**
 * Shell globs as Docker matches them (Go's path.Match, plus `**` for .dockerignore), matched
 * in time proportional to pattern length × name length. Translating globs to JavaScript
 * regular expressions is not safe here: `a*a*a*…b` or `**` chains make the backtracking
 * engine take polynomial-to-exponential time, and patterns come from build contexts, image
 * filters and Dockerfiles, i.e. from whoever wrote them.
 *
 * Syntax: `*` any run of characters but "/", `?` one character but "/", `[a-z]` / `[^a-z]` /
 * `[!a-z]` a class (which, as in Go, may match "/"), `\x` the character x; with `doubleStar`,
 * `**` any run including "/" and `**` followed by "/" any run of whole directories, or none.
 */

export class GlobSyntaxError extends Error {
  constructor(readonly pattern: string) {
    super(`syntax error in pattern: ${pattern}`);
  }
}

export interface GlobOptions {
  /** `**` spans directories (.dockerignore); otherwise it is two `*`. */
  doubleStar?: boolean;
  /**
   * An unclosed `[` or a trailing `\` is a syntax error (Go's path.Match); when false they
   * stand for themselves (.dockerignore's patterns are never rejected).
   */
  strict?: boolean;
}

type Token =
  | { kind: "char"; char: string }
  | { kind: "one" }
  | { kind: "star" }
  | { kind: "any" }
  | { kind: "dirs" }
  | { kind: "class"; negated: boolean; ranges: Array<[string, string]> };

export interface GlobMatcher {
  test(name: string): boolean;
}

export function compileGlob(pattern: string, opts: GlobOptions = {}): GlobMatcher {
  const tokens = tokenize(pattern, opts);
  return { test: (name) => matches(tokens, name) };
}

function tokenize(pattern: string, opts: GlobOptions): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (opts.doubleStar && pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") {
          i++;
          tokens.push({ kind: "dirs" });
        } else tokens.push({ kind: "any" });
      } else tokens.push({ kind: "star" });
    } else if (c === "?") tokens.push({ kind: "one" });
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        if (opts.strict) throw new GlobSyntaxError(pattern);
        tokens.push({ kind: "char", char: "[" });
        continue;
      }
      tokens.push(parseClass(pattern.slice(i + 1, end)));
      i = end;
    } else if (c === "\\") {
      if (i + 1 < pattern.length) tokens.push({ kind: "char", char: pattern[++i] });
      else if (opts.strict) throw new GlobSyntaxError(pattern);
      else tokens.push({ kind: "char", char: "\\" });
    } else tokens.push({ kind: "char", char: c });
  }
  return tokens;
}

function parseClass(body: string): Token {
  let negated = false;
  let i = 0;
  if (body[0] === "^" || body[0] === "!") {
    negated = true;
    i = 1;
  }
  const ranges: Array<[string, string]> = [];
  const next = (): string => (body[i] === "\\" && i + 1 < body.length ? body[(i += 2) - 1] : body[i++]);
  while (i < body.length) {
    const lo = next();
    if (body[i] === "-" && i + 1 < body.length) {
      i++;
      ranges.push([lo, next()]);
    } else ranges.push([lo, lo]);
  }
  return { kind: "class", negated, ranges };
}

function singleMatches(t: Token, c: string): boolean {
  switch (t.kind) {
    case "char":
      return t.char === c;
    case "one":
      return c !== "/";
    case "class":
      return t.ranges.some(([lo, hi]) => lo <= c && c <= hi) !== t.negated;
    default:
      return false;
  }
}

/**
 * Bottom-up dynamic programming: at[t][s] says whether tokens[t..] match name[s..]. The
 * `dirs` token (`**` then `/`) keeps a second value, inDirs: "inside the run, before its final /".
 */
function matches(tokens: Token[], name: string): boolean {
  const n = name.length;
  let next = new Uint8Array(n + 1);
  next[n] = 1; // no tokens left matches only the empty rest
  for (let t = tokens.length - 1; t >= 0; t--) {
    const tok = tokens[t];
    const cur = new Uint8Array(n + 1);
    if (tok.kind === "star" || tok.kind === "any") {
      for (let s = n; s >= 0; s--) {
        cur[s] = next[s] || (s < n && (tok.kind === "any" || name[s] !== "/") && cur[s + 1]) ? 1 : 0;
      }
    } else if (tok.kind === "dirs") {
      // either nothing, or any run ending in "/" followed by the rest
      let inDirs = 0; // inDirs for position s+1
      for (let s = n; s >= 0; s--) {
        const here = s < n && ((name[s] === "/" && next[s + 1] === 1) || inDirs === 1) ? 1 : 0;
        cur[s] = next[s] || here ? 1 : 0;
        inDirs = here;
      }
    } else {
      for (let s = n - 1; s >= 0; s--) cur[s] = next[s + 1] && singleMatches(tok, name[s]) ? 1 : 0;
    }
    next = cur;
  }
  return next[0] === 1;
}
