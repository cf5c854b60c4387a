/**
 * Go text/template as docker users write it in `--format`: the public face of the template
 * engine (lexer, parser, executor and functions live in the template-*.ts files beside it).
 *
 *   renderTemplate('{{.Name}} {{json .Labels}}', container)
 *   parseTemplate('{{range .Mounts}}{{.Source}}{{end}}').execute(container)
 *
 * Values: plain objects and Maps behave as Go maps (missing key -> "<no value>", range in
 * sorted key order); class instances behave as structs (a missing field is an error). A field
 * whose value is a function is called, with the arguments that follow it:
 * `{{.Label "com.example"}}` calls obj.Label("com.example").
 */
import { TemplateError } from "./template-error";
import { execute, type ResolvedFunc } from "./template-exec";
import { BUILTIN_FUNCS, DOCKER_FUNCS, type FuncSpec, type TemplateFunc } from "./template-funcs";
import { parse } from "./template-parser";
import type { TreeSet } from "./template-ast";

export { TemplateError } from "./template-error";
export type { TemplateFunc } from "./template-funcs";
export { goJson } from "./template-json";

/** Extra functions: a plain function, or a spec with Go-style parameter checks. */
export type FuncMap = Record<string, TemplateFunc | FuncSpec>;

export interface ParseOptions {
  /** Functions beyond Go's builtins and docker's; they may replace either. */
  funcs?: FuncMap;
  /** The template name error messages show ("" as docker uses). */
  name?: string;
}

export interface ExecuteOptions {
  /** Replace functions for this execution only (names must have existed at parse time). */
  funcs?: FuncMap;
  /** "error": a missing map key fails instead of printing "<no value>". */
  missingKey?: "default" | "error";
}

export interface Template {
  /** Renders the template; throws TemplateError on execution errors. */
  execute(data: unknown, options?: ExecuteOptions): string;
}

export interface PartialResult {
  /** Everything written before the error, or the whole output. */
  output: string;
  error?: TemplateError;
}

function resolve(entry: TemplateFunc | FuncSpec, builtin: boolean): ResolvedFunc {
  if (typeof entry === "function") return { fn: entry as (...args: unknown[]) => unknown };
  return { spec: entry, builtin };
}

class GoTemplate implements Template {
  constructor(
    private readonly source: string,
    private readonly name: string,
    private readonly trees: TreeSet,
    private readonly funcs: FuncMap,
  ) {}

  execute(data: unknown, options: ExecuteOptions = {}): string {
    const out: string[] = [];
    this.run(data, options, out);
    return out.join("");
  }

  /** Like execute, but keeps the output written before an error (docker prints it). */
  executePartial(data: unknown, options: ExecuteOptions = {}): PartialResult {
    const out: string[] = [];
    try {
      this.run(data, options, out);
      return { output: out.join("") };
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      return { output: out.join(""), error: err };
    }
  }

  private run(data: unknown, options: ExecuteOptions, out: string[]): void {
    const override = options.funcs ?? {};
    const findFunc = (name: string): ResolvedFunc | undefined => {
      if (Object.prototype.hasOwnProperty.call(override, name)) return resolve(override[name], false);
      if (Object.prototype.hasOwnProperty.call(this.funcs, name)) return resolve(this.funcs[name], false);
      if (Object.prototype.hasOwnProperty.call(DOCKER_FUNCS, name)) return resolve(DOCKER_FUNCS[name], false);
      if (Object.prototype.hasOwnProperty.call(BUILTIN_FUNCS, name)) return resolve(BUILTIN_FUNCS[name], true);
      return undefined;
    };
    const env = {
      source: this.source,
      parseName: this.name,
      trees: this.trees,
      findFunc,
      missingKey: options.missingKey ?? "default",
    };
    execute(env, this.name, data, out);
  }
}

/** Parses a template; throws TemplateError with Go's message on syntax errors. */
export function parseTemplate(source: string, options: ParseOptions = {}): Template & {
  executePartial(data: unknown, options?: ExecuteOptions): PartialResult;
} {
  const funcs = options.funcs ?? {};
  const name = options.name ?? "";
  const has = (f: string): boolean =>
    [funcs, DOCKER_FUNCS, BUILTIN_FUNCS].some((m) => Object.prototype.hasOwnProperty.call(m, f));
  const { trees } = parse(source, name, has);
  return new GoTemplate(source, name, trees, funcs);
}

/** Parses and executes in one go. */
export function renderTemplate(source: string, data: unknown, options: ParseOptions & ExecuteOptions = {}): string {
  return parseTemplate(source, options).execute(data, options);
}
