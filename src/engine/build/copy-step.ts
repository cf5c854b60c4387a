import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidParameterError, errorMessage } from "../../lib/errors";
import { shortId } from "../../lib/ids";
import { applyLayer as extractTar } from "../../lib/tar/apply";
import { resolveInRoot } from "../../lib/tar/resolve";
import { resolveUser } from "../../runtime/user";
import { processWord } from "../images/changes";
import type { ImageRuntimeConfig } from "../images/types";
import { BuildCacheStore } from "./build-cache";
import { copyInto, ensureDir, hashSources, isArchive, resolveSources, type Source } from "./copy";
import { DockerIgnore } from "../../lib/dockerignore";
import { flag, splitWords, type Instruction } from "./dockerfile";
import type { StepTools } from "./step-tools";
import { stageOrImage } from "./stage-source";
import { lineError, nopShell, stateKey, type StageRun, type StageState } from "./types";
import { downloadUrl, parseChecksum } from "./url-source";

/**
 * COPY and ADD: sources from the context, another stage or an image (--from), heredocs; ADD
 * extracts local tar archives. The files go into a scratch overlay on the stage's image whose
 * upper dir becomes the layer; the key holds the sources' content hash.
 */
export async function copyStep(tools: StepTools, state: StageState, ins: Instruction, run: StageRun, env: Map<string, string>): Promise<void> {
  const cmd = ins.cmd;
  const rc = state.config.config as ImageRuntimeConfig;
  let args = ins.json ?? splitWords(ins.rest).map((w) => processWord(w, env));
  if (ins.heredocs.length && !ins.json) args = splitWords(ins.rest).map((w) => (/^<<-?["']?[A-Za-z_]/.test(w) ? w : processWord(w, env)));
  if (args.length < 2) throw new InvalidParameterError(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  const rawDest = args[args.length - 1];
  const srcs = args.slice(0, -1);
  for (const unsupported of ["keep-git-dir"]) {
    if (flag(ins, unsupported) !== undefined) throw new InvalidParameterError(`${cmd} --${unsupported} is not supported by this builder yet`);
  }
  const checksum = flag(ins, "checksum");
  if (checksum !== undefined) {
    if (srcs.some((src) => !/^https?:\/\//.test(src))) throw lineError(ins, "checksum can't be specified for non-HTTP(S) sources");
    try {
      parseChecksum(checksum);
    } catch (err) {
      throw lineError(ins, errorMessage(err));
    }
  }
  const fromFlag = flag(ins, "from");
  const chownFlag = flag(ins, "chown");
  const chmodFlag = flag(ins, "chmod");
  let mode: number | undefined;
  if (chmodFlag !== undefined) {
    if (!/^[0-7]{3,4}$/.test(chmodFlag)) throw new InvalidParameterError(`invalid chmod parameter: ${chmodFlag}`);
    mode = parseInt(chmodFlag, 8);
  }
  // Where sources come from: the context, a stage, an image.
  let fromRoot: { root: string; cleanup: () => Promise<void> } | undefined;
  let sourceRoot = run.contextDir;
  let fromId = "";
  if (fromFlag !== undefined) {
    const from = await stageOrImage(tools, state, run, processWord(fromFlag, env), "from flag");
    fromId = from.id;
    fromRoot = await tools.roots.mountChain(from.chainIds);
    sourceRoot = fromRoot.root;
  }
  const heredocDir = ins.heredocs.length ? fs.mkdtempSync(path.join(tools.tmpRoot, "heredoc-")) : undefined;
  let downloadDir: string | undefined;
  try {
    const sources: Source[] = [];
    // Downloaded files: never extracted (Docker's rule for URL sources), their Last-Modified in the key.
    const downloads = new Map<string, string>();
    for (const src of srcs) {
      const hd = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/.exec(src);
      const doc = hd ? ins.heredocs.find((h) => h.name === hd[1]) : undefined;
      if (doc && heredocDir) {
        const file = path.join(heredocDir, doc.name);
        fs.writeFileSync(file, doc.quoted ? doc.content : processWord(doc.content.replace(/["'\\]/g, "\\$&"), env), { mode: 0o644 });
        sources.push({ rel: doc.name, abs: file, isDir: false });
        continue;
      }
      if (cmd === "ADD" && (/^(git:\/\/|git@)/.test(src) || /^https?:\/\/.*\.git(#.*)?$/.test(src))) {
        throw lineError(ins, `ADD of git repositories is not supported by this builder: ${src}`);
      }
      if (cmd === "ADD" && /^https?:\/\//.test(src)) {
        downloadDir ??= fs.mkdtempSync(path.join(tools.tmpRoot, "download-"));
        let got;
        try {
          got = await downloadUrl(src, downloadDir, { checksum, signal: run.opts.signal });
        } catch (err) {
          throw lineError(ins, `ADD failed: ${errorMessage(err)}`);
        }
        const destIsDir = rawDest.endsWith("/");
        if (!got.name && destIsDir) throw lineError(ins, `ADD failed: cannot determine a file name from the URL ${src}: give a destination file name`);
        sources.push({ rel: got.name || path.posix.basename(rawDest), abs: got.file, isDir: false });
        downloads.set(got.file, `${src} ${got.digest} ${got.lastModified ?? ""}`);
        continue;
      }

      const found = resolveSources(cmd, sourceRoot, src, fromFlag === undefined);
      if (found.length === 0) throw new InvalidParameterError(`${cmd} failed: no source files were specified`);
      sources.push(...found);
    }
    let dest = rawDest;
    const destDir = dest.endsWith("/") || dest.endsWith("/.") || dest === ".";
    if (!path.posix.isAbsolute(dest)) dest = path.posix.join(rc.WorkingDir || "/", dest);
    const destRel = path.posix.normalize(dest).replace(/^\/+/, "").replace(/\/+$/, "");
    const excludes = ins.flags.filter((f) => f.name === "exclude").map((f) => processWord(f.value ?? "", env));
    const parents = flag(ins, "parents") !== undefined && flag(ins, "parents") !== "false";
    const skip = excludes.length ? excludeFilter(sources, excludes) : undefined;
    if (skip) sources.splice(0, sources.length, ...sources.filter((s) => !skip(s.abs)));
    if (sources.length === 0) throw lineError(ins, `${cmd} failed: every source is excluded by --exclude`);
    if (sources.length > 1 && !destDir && !parents) throw new InvalidParameterError(`When using ${cmd} with more than one source file, the destination must be a directory and end with a /`);
    const contentHash = hashSources(sources, skip);
    const kind = sources.length > 1 ? "multi" : sources[0].isDir ? "dir" : "file";
    const describe = `${cmd} ${kind}:${contentHash} in ${rawDest} `;
    const key = BuildCacheStore.key([state.imageId ?? "scratch", stateKey(state), cmd, describe, dest, fromId, chownFlag === undefined ? "" : processWord(chownFlag, env), chmodFlag ?? "", ins.heredocs.length ? "heredoc" : "", ...(parents || excludes.length ? [{ parents, excludes }] : []), ...(downloads.size ? [[...downloads.values()]] : [])]);
    if (tools.committer.probeCache(state, key, run)) return;
    const lease = tools.deps.images.lease();
    try {
      const layer = await tools.roots.withRoot(state, lease, async (root) => {
        let uid = 0;
        let gid = 0;
        if (chownFlag) {
          const spec = processWord(chownFlag, env);
          try {
            ({ uid, gid } = await resolveUser(root, spec));
          } catch (err) {
            throw new InvalidParameterError(`unable to convert uid/gid chown string to host mapping: ${errorMessage(err)}`);
          }
        }
        const opts = { uid, gid, mode, skip };
        for (const s of sources) {
          if (parents) {
            // --parents: the source's path (below a "/./" pivot, if the source has one) is kept under the destination.
            copyInto(root, s.abs, path.posix.join(destRel, parentsPath(srcs, s.rel)), opts, s.isDir);
            continue;
          }
          if (s.isDir) {
            copyInto(root, s.abs, destRel, opts, true);
            continue;
          }
          let existingDir = false;
          try {
            existingDir = fs.statSync(resolveInRoot(root, destRel, true)).isDirectory();
          } catch {
            existingDir = false;
          }
          if (cmd === "ADD" && fromFlag === undefined && !downloads.has(s.abs) && isArchive(s.abs)) {
            const dirAbs = ensureDir(root, destRel, opts);
            await extractTar(dirAbs, fs.createReadStream(s.abs));
            continue;
          }
          const target = destDir || existingDir || destRel === "" ? path.posix.join(destRel, path.posix.basename(s.rel)) : destRel;
          copyInto(root, s.abs, target, opts, false);
        }
      });
      const id = await tools.committer.commit(state, { createdBy: `${nopShell(state)} #(nop) ${describe}`, emptyLayer: !layer, cacheKey: key, layer });
      run.emit(` ---> ${shortId(id)}\n`);
    } finally {
      lease.release();
    }
  } finally {
    if (heredocDir) fs.rmSync(heredocDir, { recursive: true, force: true });
    if (downloadDir) fs.rmSync(downloadDir, { recursive: true, force: true });
    if (fromRoot) await fromRoot.cleanup().catch(() => undefined);
  }
}


/**
 * --exclude patterns (.dockerignore syntax): matched against a path relative to the directory
 * being copied, and for a file source against its path in the source root and its base name.
 */
function excludeFilter(sources: Source[], patterns: string[]): (abs: string) => boolean {
  const ignore = new DockerIgnore(patterns.join("\n"));
  return (abs: string): boolean => {
    for (const s of sources) {
      if (s.isDir && abs.startsWith(`${s.abs}/`)) return ignore.excluded(abs.slice(s.abs.length + 1));
      if (abs === s.abs && !s.isDir) return ignore.excluded(s.rel) || ignore.excluded(path.posix.basename(s.rel));
    }
    return false;
  };
}

/** The part of a source's path that --parents keeps: what follows the last "/./" of the pattern it came from. */
function parentsPath(patterns: string[], rel: string): string {
  for (const p of patterns) {
    const pivot = p.lastIndexOf("/./");
    if (pivot === -1) continue;
    const prefix = p.slice(0, pivot).replace(/^\.?\/+/, "").replace(/^\.$/, "");
    if (prefix === "") return rel;
    if (rel === prefix || rel.startsWith(`${prefix}/`)) return rel.slice(prefix.length + 1);
  }
  return rel;
}
