/**
 * `inspect`, `container inspect`, `image inspect`: the daemon's JSON as docker prints it
 * (an array indented by four spaces, key order kept), or each object through -f TEMPLATE.
 */
import type { CommandContext, CommandDef } from "../command";
import { isNotFound, messageOf, StatusError } from "../errors";
import type { ParsedFlags } from "../flags";
import { pathSegment, readBody } from "../api-client";
import { indentJson } from "../display/text";
import { containerPath } from "./lifecycle";

type Kind = "container" | "image" | "network" | "volume";

/** Raw JSON text of one object, by kind. */
async function fetchRaw(ctx: CommandContext, kind: Kind, ref: string, size: boolean): Promise<string> {
  const path =
    kind === "container" ? containerPath(ref, "/json") : kind === "image" ? `/images/${pathSegment(ref)}/json` : `/${kind}s/${pathSegment(ref)}`;
  const res = await ctx.client().request("GET", path, { query: kind === "container" && size ? { size: true } : {} });
  return (await readBody(res)).toString("utf8");
}

/** Tries each kind in docker's order; a not-found moves on to the next kind. */
async function lookup(ctx: CommandContext, kinds: Kind[], ref: string, size: boolean): Promise<string> {
  for (const kind of kinds) {
    try {
      const raw = await fetchRaw(ctx, kind, ref, size);
      if (size && kind !== "container") ctx.io.stderr.write(`WARNING: --size ignored for ${kind}\n`);
      return raw;
    } catch (err) {
      if (kinds.length > 1 && isNotFound(err)) continue;
      throw err;
    }
  }
  throw new Error(`Error: No such object: ${ref}`);
}

/** Shared by every inspect command; `fixed` is the kind a group command implies. */
export async function runInspect(ctx: CommandContext, flags: ParsedFlags, refs: string[], fixed?: Kind): Promise<number> {
  const type = fixed ?? flags.string("type");
  let kinds: Kind[];
  // docker's order when no --type is given.
  if (type === "") kinds = ["container", "image", "network", "volume"];
  else if (type === "container" || type === "image" || type === "network" || type === "volume") kinds = [type];
  else {
    throw new StatusError(
      `unknown type: "${type}": must be one of "config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"`,
      1,
    );
  }
  const format = flags.string("format");
  const execute = await templateExecutor(format);

  const raws: string[] = [];
  const errors: string[] = [];
  let rendered = "";
  for (const ref of refs) {
    try {
      const raw = await lookup(ctx, kinds, ref, flags.bool("size"));
      if (execute) rendered += execute(JSON.parse(raw)) + "\n";
      else raws.push(raw);
    } catch (err) {
      errors.push(messageOf(err));
    }
  }
  if (execute) ctx.io.stdout.write(rendered === "" ? "\n" : rendered);
  else if (raws.length === 0) ctx.io.stdout.write("[]\n");
  else ctx.io.stdout.write(indentJson(`[${raws.join(",")}]`, format === "json" ? "" : "    ") + "\n");
  if (errors.length > 0) throw new StatusError(errors.join("\n"), 1);
  return 0;
}

/** A compiled -f template, or undefined for the JSON outputs ("" and "json"). */
async function templateExecutor(format: string): Promise<((data: unknown) => string) | undefined> {
  if (format === "" || format === "json") return undefined;
  const { parseTemplate } = await import("../format/template");
  try {
    const tmpl = parseTemplate(format);
    return (data) => {
      try {
        return tmpl.execute(data);
      } catch (err) {
        throw new Error(`template parsing error: ${messageOf(err)}`);
      }
    };
  } catch (err) {
    throw new StatusError(`template parsing error: ${messageOf(err)}`, 64);
  }
}

const formatFlag = {
  name: "format",
  short: "f",
  type: "string",
  description:
    "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.",
};
const sizeFlag = { name: "size", short: "s", bool: true, description: "Display total file sizes if the type is container" };

export const inspectCommand: CommandDef = {
  usage: "[OPTIONS] NAME|ID [NAME|ID...]",
  short: "Return low-level information on Docker objects",
  flags: [formatFlag, sizeFlag, { name: "type", type: "string", description: "Only inspect objects of the given type" }],
  args: { min: 1 },
  run: (ctx, flags, refs) => runInspect(ctx, flags, refs),
};

export const containerInspectCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER [CONTAINER...]",
  short: "Display detailed information on one or more containers",
  flags: [formatFlag, { ...sizeFlag, description: "Display total file sizes" }],
  args: { min: 1 },
  run: (ctx, flags, refs) => runInspect(ctx, flags, refs, "container"),
};

export const imageInspectCommand: CommandDef = {
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  short: "Display detailed information on one or more images",
  flags: [formatFlag],
  args: { min: 1 },
  run: (ctx, flags, refs) => runInspect(ctx, flags, refs, "image"),
};
