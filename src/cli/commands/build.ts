/** build and builder prune. */
import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough, type Readable, type Writable } from "node:stream";
import * as tar from "tar-stream";
import type { CommandDef } from "../command";
import { StatusError } from "../errors";
import { jsonValues } from "../api-client";
import { renderJsonMessage, type JsonMessage } from "../jsonstream";
import { DockerIgnore } from "../../lib/dockerignore";
import { registryConfigHeader } from "../docker-config";
import { encodeBuildSecrets, MAX_SECRETS_HEADER, SECRETS_HEADER } from "../../lib/build-secrets";
import { humanSize } from "../../lib/units";

function keyValues(list: string[], what: string, fromEnv: NodeJS.ProcessEnv): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const item of list) {
    const i = item.indexOf("=");
    if (i === 0) throw new StatusError(`invalid argument "${item}" for "--${what}" flag: invalid key`, 125);
    if (i === -1) out[item] = what === "build-arg" ? (fromEnv[item] ?? null) : "";
    else out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/**
 * --secret as docker buildx takes it: `id=ID[,src=PATH]`, `id=ID,env=VAR`, `type=file|env`;
 * without src and env, the environment variable named like the id, else the file named so.
 */
function readSecrets(specs: string[], env: NodeJS.ProcessEnv): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const spec of specs) {
    const fields = new Map<string, string>();
    for (const part of spec.split(",")) {
      const i = part.indexOf("=");
      if (i <= 0) throw new StatusError(`invalid argument "${spec}" for "--secret" flag: invalid field '${part}' must be a key=value pair`, 125);
      const key = part.slice(0, i).trim().toLowerCase();
      if (!["id", "src", "source", "env", "type"].includes(key)) throw new StatusError(`invalid argument "${spec}" for "--secret" flag: unexpected key '${key}' in '${part}'`, 125);
      fields.set(key === "source" ? "src" : key, part.slice(i + 1));
    }
    const type = fields.get("type");
    if (type !== undefined && type !== "file" && type !== "env") throw new StatusError(`invalid argument "${spec}" for "--secret" flag: unsupported secret type "${type}"`, 125);
    const id = fields.get("id") ?? fields.get("src") ?? fields.get("env");
    if (!id || !/^[A-Za-z0-9._-]+$/.test(id)) throw new StatusError(`invalid argument "${spec}" for "--secret" flag: a secret needs an id of letters, digits, '.', '_' or '-'`, 125);
    let src = fields.get("src");
    let envName = fields.get("env");
    if (src === undefined && envName === undefined) {
      if (type === "env" || (type === undefined && env[id] !== undefined)) envName = id;
      else src = id;
    }
    if (envName !== undefined) {
      const value = env[envName];
      if (value === undefined) throw new StatusError(`failed to read secret ${id}: environment variable ${envName} is not set`, 1);
      out.set(id, Buffer.from(value));
      continue;
    }
    try {
      out.set(id, fs.readFileSync(src as string));
    } catch (err) {
      throw new StatusError(`failed to read secret ${id} from ${src}: ${(err as Error).message}`, 1);
    }
  }
  return out;
}

/** The context directory as a tar, .dockerignore applied (the Dockerfile and .dockerignore always go). */
function packContext(dir: string, keep: Set<string>, extra?: { name: string; data: Buffer }): Readable {
  const pack = tar.pack();
  const ignorePath = path.join(dir, ".dockerignore");
  const ignore = fs.existsSync(ignorePath) ? new DockerIgnore(fs.readFileSync(ignorePath, "utf8")) : undefined;
  const walk = async (rel: string): Promise<void> => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, childRel);
      const st = fs.lstatSync(abs);
      const excluded = ignore !== undefined && !keep.has(childRel) && ignore.excluded(childRel);
      if (excluded && !(st.isDirectory() && ignore.hasExceptions)) continue;
      const base = { name: childRel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) {
        if (!excluded) pack.entry({ ...base, name: `${childRel}/`, type: "directory" });
        await walk(childRel);
      } else if (st.isSymbolicLink()) {
        pack.entry({ ...base, type: "symlink", linkname: fs.readlinkSync(abs) });
      } else if (st.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ ...base, type: "file", size: st.size }, (err) => (err ? reject(err) : resolve()));
          fs.createReadStream(abs).on("error", reject).pipe(entry);
        });
      }
    }
    if (rel === "" && extra) pack.entry({ name: extra.name, mode: 0o644, mtime: new Date() }, extra.data);
  };
  const out = new PassThrough();
  pack.on("error", (err: Error) => out.destroy(err));
  pack.pipe(out);
  walk("").then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

function tarOf(name: string, data: Buffer): Readable {
  const pack = tar.pack();
  pack.entry({ name, mode: 0o644, mtime: new Date() }, data);
  pack.finalize();
  const out = new PassThrough();
  pack.pipe(out);
  return out;
}

export const buildCommand: CommandDef = {
  usage: "[OPTIONS] PATH | -",
  short: "Build an image from a Dockerfile",
  aliases: ["image build", "build", "builder build"],
  flags: [
    { name: "tag", short: "t", type: "list", repeat: true, description: 'Name and optionally a tag in the "name:tag" format' },
    { name: "file", short: "f", type: "string", description: "Name of the Dockerfile (Default is 'PATH/Dockerfile')" },
    { name: "build-arg", type: "list", repeat: true, description: "Set build-time variables" },
    { name: "target", type: "string", description: "Set the target build stage to build." },
    { name: "no-cache", bool: true, description: "Do not use cache when building the image" },
    { name: "pull", bool: true, description: "Always attempt to pull a newer version of the image" },
    { name: "label", type: "list", repeat: true, description: "Set metadata for an image" },
    { name: "quiet", short: "q", bool: true, description: "Suppress the build output and print image ID on success" },
    { name: "iidfile", type: "string", description: "Write the image ID to the file" },
    { name: "network", type: "string", description: "Set the networking mode for the RUN instructions during build", defaultText: '"default"' },
    { name: "secret", type: "list", repeat: true, description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=mysecret,env=VAR")' },
    { name: "progress", type: "string", description: "Set type of progress output (auto, plain, tty)", defaultText: '"auto"' },
    { name: "rm", bool: true, description: "Remove intermediate containers after a successful build (always)", hidden: true },
    { name: "force-rm", bool: true, description: "Always remove intermediate containers", hidden: true },
    { name: "platform", type: "string", description: "Set platform if server is multi-platform capable", hidden: true },
  ],
  args: { min: 1, max: 1 },
  run: async (ctx, flags, [contextPath]) => {
    const progress = flags.string("progress") || "auto";
    if (!["auto", "plain", "tty"].includes(progress)) throw new StatusError(`invalid progress mode: ${progress}`, 125);
    const headers: Record<string, string> = {};
    const secrets = readSecrets(flags.list("secret"), ctx.io.env);
    if (secrets.size) {
      headers[SECRETS_HEADER] = encodeBuildSecrets(secrets);
      if (headers[SECRETS_HEADER].length > MAX_SECRETS_HEADER) throw new StatusError(`secrets too large: at most ${Math.floor((MAX_SECRETS_HEADER * 3) / 4 / 1024)} KiB in all can be sent to the daemon`, 1);
    }
    const file = flags.string("file");
    let body: Readable;
    let dockerfile = "Dockerfile";
    if (contextPath === "-") {
      if (file === "-") throw new StatusError("invalid argument: can't use stdin for both build context and dockerfile", 1);
      const data = await readAll(ctx.io.stdin);
      const isTar = data.length >= 262 && data.subarray(257, 262).toString("latin1") === "ustar";
      const isGzip = data.length > 2 && data[0] === 0x1f && data[1] === 0x8b;
      if (isTar || isGzip) {
        body = new PassThrough().end(data);
        if (file) dockerfile = file;
      } else body = tarOf("Dockerfile", data);
    } else {
      let st: fs.Stats;
      try {
        st = fs.statSync(contextPath);
      } catch {
        throw new StatusError(`unable to prepare context: path "${contextPath}" not found`, 1);
      }
      if (!st.isDirectory()) throw new StatusError(`unable to prepare context: context must be a directory: ${contextPath}`, 1);
      const ctxDir = path.resolve(contextPath);
      let extra: { name: string; data: Buffer } | undefined;
      if (file === "-") {
        extra = { name: `.dockerfile.${Math.random().toString(16).slice(2, 14)}`, data: await readAll(ctx.io.stdin) };
        dockerfile = extra.name;
      } else if (file) {
        const abs = path.resolve(file);
        const rel = path.relative(ctxDir, abs);
        if (rel.startsWith("..") || path.isAbsolute(rel)) {
          let data: Buffer;
          try {
            data = fs.readFileSync(abs);
          } catch {
            throw new StatusError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`, 1);
          }
          extra = { name: `.dockerfile.${Math.random().toString(16).slice(2, 14)}`, data };
          dockerfile = extra.name;
        } else dockerfile = rel.split(path.sep).join("/");
      } else if (!fs.existsSync(path.join(ctxDir, "Dockerfile")) && fs.existsSync(path.join(ctxDir, "dockerfile"))) {
        dockerfile = "dockerfile";
      } else if (!fs.existsSync(path.join(ctxDir, "Dockerfile"))) {
        throw new StatusError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${path.join(ctxDir, "Dockerfile")}: no such file or directory`, 1);
      }
      body = packContext(ctxDir, new Set([dockerfile, ".dockerignore"]), extra);
    }
    const quiet = flags.bool("quiet");
    // Credentials for the registries FROM may pull from, as the docker CLI sends them.
    const registryConfig = registryConfigHeader(ctx.io.env);
    if (registryConfig) headers["X-Registry-Config"] = registryConfig;
    const res = await ctx.client().request("POST", "/build", {
      headers,
      query: {
        t: flags.list("tag"),
        dockerfile,
        buildargs: JSON.stringify(keyValues(flags.list("build-arg"), "build-arg", ctx.io.env)),
        labels: JSON.stringify(keyValues(flags.list("label"), "label", ctx.io.env)),
        target: flags.string("target") || undefined,
        nocache: flags.bool("no-cache") || undefined,
        pull: flags.bool("pull") || undefined,
        q: quiet || undefined,
        networkmode: flags.string("network") || undefined,
        version: "1",
      },
      rawBody: body,
      contentType: "application/x-tar",
    });
    let imageId = "";
    const started = Date.now();
    const live = !quiet && (progress === "tty" || (progress === "auto" && ctx.io.stdout.isTTY === true)) ? new LiveView(ctx.io.stdout) : undefined;
    for await (const value of jsonValues(res)) {
      const jm = value as JsonMessage;
      if (jm.error || jm.errorDetail?.message) {
        live?.fail();
        const code = jm.errorDetail?.code || 1;
        throw new StatusError(jm.errorDetail?.message || jm.error || "unknown error", code);
      }
      if (jm.aux !== undefined) {
        const id = (jm.aux as { ID?: string }).ID;
        if (id) imageId = id;
        continue;
      }
      if (quiet) continue;
      const text = renderJsonMessage(jm);
      if (text === undefined) continue;
      if (live) live.write(text);
      else ctx.io.stdout.write(text);
    }
    live?.finish((Date.now() - started) / 1000);
    if (quiet && imageId) ctx.io.stdout.write(`${imageId}\n`);
    const iidfile = flags.string("iidfile");
    if (iidfile && imageId) fs.writeFileSync(iidfile, imageId);
    return 0;
  },
};

export const builderPruneCommand: CommandDef = {
  usage: "[OPTIONS]",
  short: "Remove build cache",
  aliases: ["builder prune"],
  flags: [
    { name: "all", short: "a", bool: true, description: "Remove all unused build cache, not just dangling ones" },
    { name: "force", short: "f", bool: true, description: "Do not prompt for confirmation" },
    { name: "filter", type: "filter", repeat: true, description: "Provide filter values" },
    { name: "keep-storage", type: "bytes", description: "Amount of disk space to keep for cache", hidden: true },
  ],
  args: { max: 0 },
  run: async (ctx, flags) => {
    if (!flags.bool("force")) {
      ctx.io.stdout.write("WARNING! This will remove all dangling build cache.\nAre you sure you want to continue? [y/N] ");
      const answer = await new Promise<string>((resolve) => {
        let buf = "";
        const onData = (d: Buffer): void => {
          buf += d.toString();
          if (buf.includes("\n")) {
            ctx.io.stdin.off("data", onData);
            ctx.io.stdin.pause();
            resolve(buf.split("\n")[0]);
          }
        };
        ctx.io.stdin.on("data", onData);
        ctx.io.stdin.once("end", () => resolve(buf));
      });
      if (!/^y(es)?$/i.test(answer.trim())) return 0;
    }
    const report = await ctx.client().json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>("POST", "/build/prune", {
      query: { all: flags.bool("all") || undefined },
    });
    if (report.CachesDeleted?.length) {
      ctx.io.stdout.write("Deleted build cache objects:\n");
      for (const id of report.CachesDeleted) ctx.io.stdout.write(`${id}\n`);
      ctx.io.stdout.write("\n");
    }
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
    return 0;
  },
};

/**
 * The compact view on a terminal: one line per step (`[2/5] RUN make  1.3s`, cached steps
 * marked CACHED); while a step runs, its line shows the latest output line; a failing step's
 * whole output is printed before the error.
 */
class LiveView {
  private pending = "";
  private step: { label: string; start: number; cached: boolean; output: string[] } | undefined;

  constructor(private readonly out: Writable & { columns?: number }) {}

  write(text: string): void {
    this.pending += text;
    let nl: number;
    while ((nl = this.pending.indexOf("\n")) !== -1) {
      this.line(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  private width(): number {
    return Math.max(20, (this.out.columns ?? 100) - 1);
  }

  private fit(text: string): string {
    const w = this.width();
    return text.length > w ? `${text.slice(0, w - 3)}...` : text;
  }

  private line(text: string): void {
    const m = /^Step (\d+)\/(\d+) : (.*)$/.exec(text);
    if (m) {
      this.endStep();
      this.step = { label: `[${m[1]}/${m[2]}] ${m[3]}`, start: Date.now(), cached: false, output: [] };
      this.out.write(`\r\x1b[K${this.fit(this.step.label)}`);
      return;
    }
    if (!this.step) {
      this.out.write(`${text}\n`);
      return;
    }
    if (text === " ---> Using cache") {
      this.step.cached = true;
      return;
    }
    if (/^ ---> (Running in )?([0-9a-f]{12})?$/.test(text) || /^Removing intermediate container /.test(text)) return;
    if (/^Successfully (built|tagged) /.test(text) || text.startsWith("[Warning]")) {
      this.endStep();
      this.out.write(`${text}\n`);
      return;
    }
    this.step.output.push(text);
    this.out.write(`\r\x1b[K${this.fit(`${this.step.label} | ${text}`)}`);
  }

  private endStep(): void {
    if (!this.step) return;
    const took = this.step.cached ? "CACHED" : `${((Date.now() - this.step.start) / 1000).toFixed(1)}s`;
    const w = this.width() - took.length - 2;
    const label = this.step.label.length > w ? `${this.step.label.slice(0, Math.max(0, w - 3))}...` : this.step.label;
    this.out.write(`\r\x1b[K${label}  ${took}\n`);
    this.step = undefined;
  }

  fail(): void {
    if (this.pending) this.line(this.pending);
    this.pending = "";
    if (!this.step) return;
    const output = this.step.output;
    this.out.write(`\r\x1b[K${this.step.label}  ERROR\n`);
    for (const l of output) this.out.write(`  ${l}\n`);
    this.step = undefined;
  }

  finish(seconds: number): void {
    if (this.pending) this.line(this.pending);
    this.pending = "";
    this.endStep();
    this.out.write(`Build finished in ${seconds.toFixed(1)}s\n`);
  }
}
