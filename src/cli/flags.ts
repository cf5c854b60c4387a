/**
 * A small flag parser with the semantics of spf13/pflag as docker/cli uses it, so that
 * `wharf` accepts exactly what `docker` accepts and fails with the same texts:
 * `-it`, `-e=FOO`, `-eFOO`, `--rm=false`, `--name x`, `--` and (for run/create/exec)
 * "options stop at the first positional argument".
 *
 * commander cannot express pflag's booleans (`--rm=false` without eating the next
 * argument) nor produce cobra's error texts, which scripts match on; hence this module.
 */

/** A flag value was rejected by its parser; `message` is the parser's own reason. */
export class FlagError extends Error {}

export interface FlagSpec {
  /** Long name without dashes ("memory"). */
  name: string;
  /** One-letter shorthand ("m"). */
  short?: string;
  /** Boolean flags take no separate argument; `--flag=false` still works. */
  bool?: boolean;
  /** Every occurrence is kept (docker's "list" options); otherwise the last one wins. */
  repeat?: boolean;
  /** Type shown in help ("string", "list", "int", "bytes", ...). */
  type?: string;
  description: string;
  /** Shown in help as " (default X)". */
  defaultText?: string;
  hidden?: boolean;
  /** Validates (and may normalise) one value; throws Error with docker's reason text. */
  validate?: (value: string) => string;
}

/** The flags as given on the command line, raw strings in order of appearance. */
export class ParsedFlags {
  private readonly values = new Map<string, string[]>();

  add(name: string, value: string): void {
    const list = this.values.get(name);
    if (list) list.push(value);
    else this.values.set(name, [value]);
  }

  changed(name: string): boolean {
    return this.values.has(name);
  }

  /** Last value of a flag, or `fallback` when the flag was not given. */
  string(name: string, fallback = ""): string {
    const list = this.values.get(name);
    return list ? list[list.length - 1] : fallback;
  }

  list(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  bool(name: string, fallback = false): boolean {
    const list = this.values.get(name);
    return list ? parseGoBool(list[list.length - 1]) : fallback;
  }

  int(name: string, fallback = 0): number {
    const list = this.values.get(name);
    return list ? Number(list[list.length - 1]) : fallback;
  }
}

export interface ParseResult {
  flags: ParsedFlags;
  args: string[];
  help: boolean;
}

export interface ParseOptions {
  /** Stop at the first positional argument (run, create, exec). */
  stopAtFirstPositional?: boolean;
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** strconv.ParseBool. */
export function parseGoBool(value: string): boolean {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  throw new FlagError(`strconv.ParseBool: parsing ${goQuote(value)}: invalid syntax`);
}

/** strconv.ParseInt(value, 10, 64) as a validator; keeps the text. */
export function validateInt(value: string): string {
  if (!/^[+-]?\d+$/.test(value)) {
    throw new FlagError(`strconv.ParseInt: parsing ${goQuote(value)}: invalid syntax`);
  }
  const n = BigInt(value);
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    throw new FlagError(`strconv.ParseInt: parsing ${goQuote(value)}: value out of range`);
  }
  return value;
}

/** Go's %q for the plain strings that appear in flag errors. */
function goQuote(value: string): string {
  return JSON.stringify(value);
}

function describe(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

/** `--help=VALUE` / `-h=VALUE`: cobra's help flag is a plain bool flag (named "--help" in errors). */
function helpValue(value: string): boolean {
  try {
    return parseGoBool(value);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FlagError(`invalid argument ${goQuote(value)} for "--help" flag: ${reason}`);
  }
}

/**
 * Parses `argv` against `specs`. Throws FlagError with pflag's message on an unknown flag,
 * a missing argument or a value its validator rejects.
 */
export function parseFlags(argv: string[], specs: FlagSpec[], options: ParseOptions = {}): ParseResult {
  const byName = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    if (spec.short) byShort.set(spec.short, spec);
  }
  // cobra adds --help, and -h unless the command uses -h itself (run's --hostname).
  const helpShort = !byShort.has("h");

  const flags = new ParsedFlags();
  const args: string[] = [];
  let help = false;

  const set = (spec: FlagSpec, value: string): void => {
    let stored = value;
    try {
      if (spec.bool) parseGoBool(value);
      if (spec.validate) stored = spec.validate(value);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new FlagError(`invalid argument ${goQuote(value)} for ${goQuote(describe(spec))} flag: ${reason}`);
    }
    flags.add(spec.name, stored);
  };

  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++];
    if (arg === "--") {
      args.push(...argv.slice(i));
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      args.push(arg);
      if (options.stopAtFirstPositional) {
        args.push(...argv.slice(i));
        break;
      }
      continue;
    }

    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (name === "help") {
        help = eq === -1 ? true : helpValue(arg.slice(eq + 1));
        continue;
      }
      const spec = byName.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq !== -1) set(spec, arg.slice(eq + 1));
      else if (spec.bool) set(spec, "true");
      else if (i < argv.length) set(spec, argv[i++]);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }

    // One or more shorthands: "-it", "-e=FOO", "-eFOO", "-e FOO".
    let rest = arg.slice(1);
    while (rest.length > 0) {
      const letter = rest[0];
      const spec = byShort.get(letter);
      if (!spec) {
        if (letter === "h" && helpShort) {
          if (rest.length > 2 && rest[1] === "=") {
            help = helpValue(rest.slice(2));
            rest = "";
          } else {
            help = true;
            rest = rest.slice(1);
          }
          continue;
        }
        throw new FlagError(`unknown shorthand flag: '${letter}' in ${arg}`);
      }
      if (rest.length > 2 && rest[1] === "=") {
        set(spec, rest.slice(2));
        rest = "";
      } else if (spec.bool) {
        set(spec, "true");
        rest = rest.slice(1);
      } else if (rest.length > 1) {
        set(spec, rest.slice(1));
        rest = "";
      } else if (i < argv.length) {
        set(spec, argv[i++]);
        rest = "";
      } else {
        throw new FlagError(`flag needs an argument: '${letter}' in -${letter}`);
      }
    }
  }
  return { flags, args, help };
}

/** The "Options:" block of a help text, laid out as pflag's FlagUsages does. */
export function renderFlagUsages(specs: FlagSpec[]): string {
  const visible = [...specs.filter((s) => !s.hidden)];
  visible.push({ name: "help", bool: true, description: "Print usage" });
  visible.sort((a, b) => a.name.localeCompare(b.name));
  const lefts = visible.map((spec) => {
    const head = spec.short ? `  -${spec.short}, --${spec.name}` : `      --${spec.name}`;
    return spec.bool ? head : `${head} ${spec.type ?? "string"}`;
  });
  const width = Math.max(...lefts.map((l) => l.length));
  return visible
    .map((spec, n) => {
      const def = spec.defaultText !== undefined ? ` (default ${spec.defaultText})` : "";
      const body = `${spec.description}${def}`.split("\n").join("\n" + " ".repeat(width + 3));
      return `${lefts[n].padEnd(width)}   ${body}`;
    })
    .join("\n");
}
