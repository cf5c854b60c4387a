/**
 * What a command is (its usage line, flags, argument count and action) and the context it
 * runs in. Commands write through `ctx.io` so tests can run them without a process.
 */
import type { Readable, Writable } from "node:stream";
import type { ApiClient } from "./api-client";
import { StatusError } from "./errors";
import { FlagSpec, ParsedFlags, renderFlagUsages } from "./flags";

export type InStream = Readable & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
export type OutStream = Writable & { isTTY?: boolean; rows?: number; columns?: number };

export interface CliIO {
  stdin: InStream;
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  /** The real process, for signal forwarding; absent when a test drives the CLI. */
  proc?: NodeJS.Process;
}

export interface CommandContext {
  io: CliIO;
  /** The daemon address in use ("unix:///run/wharf.sock"). */
  host: string;
  /** The API client, created on first use. */
  client(): ApiClient;
  /** How the command was invoked, for messages: "run", "container run". */
  path: string;
}

export interface ArgRule {
  min?: number;
  max?: number;
}

export interface CommandDef {
  /** Usage after the command path: "[OPTIONS] IMAGE [COMMAND] [ARG...]". */
  usage: string;
  short: string;
  /** Other invocations listed under "Aliases:", e.g. ["container run", "run"]. */
  aliases?: string[];
  flags: FlagSpec[];
  /** Flags end at the first positional argument (run, create). */
  stopAtFirstPositional?: boolean;
  args: ArgRule;
  /** Extra help text printed after the options. */
  extraHelp?: string;
  run(ctx: CommandContext, flags: ParsedFlags, args: string[]): Promise<number>;
}

export function writeOut(io: CliIO, text: string): void {
  io.stdout.write(text);
}

export function writeErr(io: CliIO, text: string): void {
  io.stderr.write(text);
}

/** Resolves once everything written so far has been handed to the OS. */
export function flush(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    stream.write("", () => resolve());
  });
}

export function helpText(path: string, def: CommandDef): string {
  const lines = [`Usage:  wharf ${path} ${def.usage}`.trimEnd(), "", def.short, ""];
  if (def.aliases && def.aliases.length > 0) {
    lines.push("Aliases:", "  " + def.aliases.map((a) => `wharf ${a}`).join(", "), "");
  }
  lines.push("Options:", renderFlagUsages(def.flags), "");
  if (def.extraHelp) lines.push(def.extraHelp, "");
  return lines.join("\n");
}

function plural(n: number): string {
  return n === 1 ? "argument" : "arguments";
}

/**
 * docker 28's argument-count errors (docker/cli/cli/required.go), exit status 1:
 *
 *   wharf: 'wharf create' requires at least 1 argument
 *
 *   Usage:  wharf create [OPTIONS] IMAGE [COMMAND] [ARG...]
 *
 *   See 'wharf create --help' for more information
 *
 * docker 28 ends the "at least" message with "See ..." and the others with "Run ...";
 * its "at most" message says "SRun ..." (a typo in required.go), which we do not copy.
 */
export function checkArgs(path: string, def: CommandDef, args: string[]): void {
  const { min, max } = def.args;
  const n = args.length;
  let problem: string | undefined;
  let pointer = "Run";
  if (max === 0 && n > 0) problem = "accepts no arguments";
  else if (min !== undefined && max !== undefined && min === max && n !== min) {
    problem = `requires ${min} ${plural(min)}`;
  } else if (min !== undefined && max !== undefined && (n < min || n > max)) {
    problem = `requires at least ${min} and at most ${max} ${plural(max)}`;
  } else if (min !== undefined && n < min) {
    problem = `requires at least ${min} ${plural(min)}`;
    pointer = "See";
  } else if (max !== undefined && n > max) problem = `requires at most ${max} ${plural(max)}`;
  if (problem) {
    const usage = `wharf ${path} ${def.usage}`.trimEnd();
    throw new StatusError(
      `wharf: 'wharf ${path}' ${problem}\n\nUsage:  ${usage}\n\n${pointer} 'wharf ${path} --help' for more information`,
      1,
    );
  }
}
