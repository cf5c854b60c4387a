/**
 * `cp`: copies between a container and the local filesystem through the archive endpoints
 * (HEAD/GET/PUT /containers/{id}/archive), with docker's rules: into an existing directory the
 * source keeps its name, otherwise it takes the destination's; `-` is a tar on stdin/stdout.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommandDef } from "../command";
import { StatusError, isNotFound } from "../errors";
import { copyStream } from "../stdcopy";
import { applyLayer } from "../../lib/tar/apply";
import { packPath } from "../../lib/tar/pack-path";
import { containerPath } from "./lifecycle";

interface PathStat {
  name: string;
  mode: number;
  linkTarget: string;
}

const GO_MODE_DIR = 2 ** 31;

/** "ctr:/path" -> ["ctr", "/path"]; a local path (with a slash before any colon) -> undefined. */
function splitContainerArg(arg: string): [string, string] | undefined {
  const colon = arg.indexOf(":");
  if (colon <= 0) return undefined;
  const head = arg.slice(0, colon);
  if (head.includes("/") || head.startsWith(".")) return undefined;
  return [head, arg.slice(colon + 1)];
}

export const cpCommand: CommandDef = {
  usage: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\twharf cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
  short: "Copy files/folders between a container and the local filesystem",
  aliases: ["container cp", "cp"],
  flags: [
    { name: "archive", short: "a", bool: true, description: "Archive mode (copy all uid/gid information)" },
    { name: "follow-link", short: "L", bool: true, description: "Always follow symbol link in SRC_PATH" },
    { name: "quiet", short: "q", bool: true, description: "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached" },
  ],
  args: { min: 2, max: 2 },
  run: async (ctx, flags, [src, dst]) => {
    const from = splitContainerArg(src);
    const to = splitContainerArg(dst);
    if (from && to) throw new StatusError("copying between containers is not supported", 1);
    if (!from && !to) throw new StatusError("must specify at least one container source", 1);
    const client = ctx.client();
    const stat = async (ctr: string, p: string): Promise<PathStat | undefined> => {
      try {
        const res = await client.request("HEAD", containerPath(ctr, "/archive"), { query: { path: p } });
        res.resume();
        const header = res.headers["x-docker-container-path-stat"];
        return typeof header === "string" ? (JSON.parse(Buffer.from(header, "base64").toString("utf8")) as PathStat) : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };

    if (from) {
      const [ctr, rawSrc] = from;
      let srcPath = rawSrc;
      if (flags.bool("follow-link")) {
        const s = await stat(ctr, srcPath);
        if (s?.linkTarget) srcPath = s.linkTarget.startsWith("/") ? s.linkTarget : path.posix.join(path.posix.dirname(srcPath), s.linkTarget);
      }
      const res = await client.request("GET", containerPath(ctr, "/archive"), { query: { path: srcPath } });
      if (dst === "-") {
        await copyStream(res, ctx.io.stdout);
        return 0;
      }
      const dstExists = fs.existsSync(dst);
      if (dstExists && fs.statSync(dst).isDirectory()) {
        await applyLayer(dst, res, flags.bool("archive") ? {} : { owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } });
        return 0;
      }
      if (dst.endsWith("/")) throw new StatusError(`destination directory ${dst} does not exist`, 1);
      // Extract next to the destination, then give the copy the destination's name.
      const parent = path.dirname(path.resolve(dst));
      const temp = fs.mkdtempSync(path.join(parent, ".wharf-cp-"));
      try {
        await applyLayer(temp, res, flags.bool("archive") ? {} : { owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } });
        const [entry] = fs.readdirSync(temp);
        if (entry === undefined) throw new StatusError("empty archive", 1);
        if (dstExists) fs.rmSync(dst, { recursive: true, force: true });
        fs.renameSync(path.join(temp, entry), dst);
      } finally {
        fs.rmSync(temp, { recursive: true, force: true });
      }
      return 0;
    }

    const [ctr, dstPath] = to as [string, string];
    const query = { path: dstPath, copyUIDGID: flags.bool("archive") || undefined, noOverwriteDirNonDir: true };
    if (src === "-") {
      await client.call("PUT", containerPath(ctr, "/archive"), { query, rawBody: ctx.io.stdin, contentType: "application/x-tar" });
      return 0;
    }
    if (!fs.existsSync(src)) throw new StatusError(`lstat ${src}: no such file or directory`, 1);
    const target = await stat(ctr, dstPath);
    const intoDir = target !== undefined && (target.mode & GO_MODE_DIR) !== 0;
    if (!intoDir && dstPath.endsWith("/")) throw new StatusError(`Error response from daemon: Could not find the file ${dstPath} in container ${ctr}`, 1);
    const name = intoDir ? path.basename(path.resolve(src)) : path.posix.basename(dstPath);
    const putPath = intoDir ? dstPath : path.posix.dirname(dstPath) || "/";
    await client.call("PUT", containerPath(ctr, "/archive"), {
      query: { ...query, path: putPath },
      rawBody: packPath(path.resolve(src), name, { followTop: flags.bool("follow-link") }),
      contentType: "application/x-tar",
    });
    return 0;
  },
};
