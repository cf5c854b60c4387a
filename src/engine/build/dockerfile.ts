import { InvalidParameterError } from "../../lib/errors";

/**
 * The Dockerfile parser: parser directives (`# escape=`, `# syntax=`), comments, line
 * continuations with the escape character, heredocs (`RUN <<EOF`, `COPY <<EOF /x`), leading
 * `--flag=value`s and the JSON (exec) form. Variable expansion happens later, in the builder,
 * with the stage's environment. Errors name the line as Docker does:
 * `dockerfile parse error on line 3: unknown instruction: FOO`.
 */

export const KNOWN_INSTRUCTIONS = new Set([
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
  "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
]);

const HEREDOC_INSTRUCTIONS = new Set(["RUN", "COPY", "ADD"]);

export interface Heredoc {
  name: string;
  content: string;
  /** `<<"EOF"` / `<<'EOF'`: no expansion of the body. */
  quoted: boolean;
  chomp: boolean;
}

export interface Instruction {
  /** Upper case keyword. */
  cmd: string;
  /** The text as written after the keyword (continuations joined), flags included. */
  original: string;
  /** `--name=value` flags before the arguments (name without dashes). */
  flags: Array<{ name: string; value: string | undefined }>;
  /** The arguments after the flags. */
  rest: string;
  /** Set when `rest` is a JSON array of strings (exec form). */
  json?: string[];
  heredocs: Heredoc[];
  startLine: number;
  endLine: number;
}

export interface Dockerfile {
  escape: string;
  syntax?: string;
  instructions: Instruction[];
}

export class DockerfileParseError extends InvalidParameterError {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`dockerfile parse error on line ${line}: ${detail}`);
  }
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let escape = "\\";
  let syntax: string | undefined;
  let i = 0;
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(lines[i]);
    if (!m) break;
    const name = m[1].toLowerCase();
    if (name !== "escape" && name !== "syntax" && name !== "check") break;
    if (seen.has(name)) throw new DockerfileParseError(i + 1, `only one ${name} parser directive can be used`);
    seen.add(name);
    if (name === "escape") {
      if (m[2] !== "\\" && m[2] !== "`") throw new DockerfileParseError(i + 1, `invalid escape token '${m[2]}' does not match ` + "` or \\");
      escape = m[2];
    } else if (name === "syntax") syntax = m[2];
  }
  i = 0; // directive lines are comments for the rest of the parse
  const instructions: Instruction[] = [];
  const isComment = (line: string): boolean => /^\s*#/.test(line);
  const continues = (line: string): boolean => line.replace(/\s+$/, "").endsWith(escape);
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "" || isComment(line)) {
      i++;
      continue;
    }
    const startLine = i + 1;
    let joined = "";
    let current = line;
    for (;;) {
      if (continues(current)) {
        const t = current.replace(/\s+$/, "");
        joined += t.slice(0, -escape.length);
        i++;
        // Comment lines and blank lines inside a continuation are skipped.
        while (i < lines.length && (isComment(lines[i]) || lines[i].trim() === "")) i++;
        if (i >= lines.length) break;
        current = lines[i];
        continue;
      }
      joined += current;
      i++;
      break;
    }
    const endLine = Math.max(startLine, i);
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined);
    if (!m) continue;
    const cmd = m[1].toUpperCase();
    if (!KNOWN_INSTRUCTIONS.has(cmd)) throw new DockerfileParseError(startLine, `unknown instruction: ${m[1]}`);
    const original = m[2].trim();
    const { flags, rest } = splitFlags(original);
    const ins: Instruction = { cmd, original, flags, rest, heredocs: [], startLine, endLine };
    if (HEREDOC_INSTRUCTIONS.has(cmd) && !rest.startsWith("[")) {
      const re = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
      let hm: RegExpExecArray | null;
      while ((hm = re.exec(rest)) !== null) {
        const chomp = hm[1] === "-";
        const name = hm[3];
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          let l = lines[i++];
          if (chomp) l = l.replace(/^\t+/, "");
          if (l === name) {
            closed = true;
            break;
          }
          body.push(l);
        }
        if (!closed) throw new DockerfileParseError(startLine, `unterminated heredoc ${name}`);
        ins.heredocs.push({ name, content: body.length ? body.join("\n") + "\n" : "", quoted: hm[2] !== "", chomp });
      }
      ins.endLine = Math.max(ins.endLine, i);
    }
    if (rest.startsWith("[")) {
      try {
        const value: unknown = JSON.parse(rest);
        if (Array.isArray(value) && value.every((v) => typeof v === "string")) ins.json = value as string[];
      } catch {
        // the shell form, as Docker treats text that is not a JSON array
      }
    }
    validate(ins);
    instructions.push(ins);
  }
  return { escape, syntax, instructions };
}

function splitFlags(text: string): { flags: Array<{ name: string; value: string | undefined }>; rest: string } {
  const flags: Array<{ name: string; value: string | undefined }> = [];
  let rest = text;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=((?:"[^"]*"|'[^']*'|[^\s"'])*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    flags.push({ name: m[1], value: m[2] === undefined ? undefined : m[2].replace(/^"(.*)"$|^'(.*)'$/, "$1$2") });
    rest = rest.slice(m[0].length);
  }
  return { flags, rest: rest.trim() };
}

const ALLOWED_FLAGS: Record<string, string[]> = {
  FROM: ["platform"],
  RUN: ["mount", "network", "security"],
  COPY: ["from", "chown", "chmod", "link", "parents", "exclude"],
  ADD: ["chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"],
  HEALTHCHECK: ["interval", "timeout", "start-period", "start-interval", "retries"],
};

function validate(ins: Instruction): void {
  const allowed = ALLOWED_FLAGS[ins.cmd] ?? [];
  for (const f of ins.flags) {
    if (!allowed.includes(f.name)) throw new DockerfileParseError(ins.startLine, `unknown flag: ${f.name}`);
  }
  if (ins.rest === "" && ins.heredocs.length === 0) {
    throw new DockerfileParseError(ins.startLine, `${ins.cmd} requires at least one argument`);
  }
  if (ins.cmd === "ONBUILD") {
    const trigger = /^\s*(\S+)/.exec(ins.rest)?.[1].toUpperCase() ?? "";
    if (trigger === "ONBUILD") throw new DockerfileParseError(ins.startLine, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trigger === "FROM" || trigger === "MAINTAINER") throw new DockerfileParseError(ins.startLine, `${trigger} isn't allowed as an ONBUILD trigger`);
    if (!KNOWN_INSTRUCTIONS.has(trigger)) throw new DockerfileParseError(ins.startLine, `unknown instruction: ${trigger}`);
  }
}

export function flag(ins: Instruction, name: string): string | undefined {
  let value: string | undefined;
  for (const f of ins.flags) if (f.name === name) value = f.value ?? "";
  return value;
}

/** Splits on unquoted whitespace, leaving quotes and escapes in place (for later expansion). */
export function splitWords(text: string, escape = "\\"): string[] {
  const out: string[] = [];
  let word = "";
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      word += c;
      if (c === escape && quote === '"' && i + 1 < text.length) word += text[++i];
      else if (c === quote) quote = undefined;
    } else if (c === escape && i + 1 < text.length) {
      word += c + text[++i];
      inWord = true;
    } else if (c === '"' || c === "'") {
      quote = c;
      word += c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new InvalidParameterError(`unexpected end of statement while looking for matching ${quote}`);
  if (inWord) out.push(word);
  return out;
}
