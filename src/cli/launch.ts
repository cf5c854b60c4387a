/**
 * How bin/wharf loads the CLI quickly: the one-file bundle that scripts/bundle-cli.js builds
 * from dist/src/cli/main.js, compiled through V8's code cache (Node 20 has no
 * module.enableCompileCache). Falls back to the compiled modules whenever the bundle is
 * missing or older than them (a `tsc` run after the last bundle), so the CLI is never stale.
 */
import * as fs from "node:fs";
import Module from "node:module";
import * as path from "node:path";
import * as vm from "node:vm";

/** What bin/wharf calls: main.ts's exports. */
export interface CliEntry {
  main(argv: string[]): Promise<number>;
}

export const BUNDLE_NAME = "main.bundle.js";
/** V8's code cache of the bundle: scripts/bundle-cli.js has one written; a run rewrites it when missing or refused. */
export const CACHE_SUFFIX = ".v8cache";

function mtimeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The CLI entry from `dir` (dist/src/cli): the bundle when it is current, else main.js. */
export function loadCli(dir: string): CliEntry {
  const modulesEntry = path.join(dir, "main.js");
  const bundle = path.join(dir, BUNDLE_NAME);
  const bundleTime = mtimeOf(bundle);
  const modulesTime = mtimeOf(modulesEntry);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (bundleTime === undefined || (modulesTime !== undefined && modulesTime > bundleTime)) return require(modulesEntry) as CliEntry;
  return loadWithCodeCache(bundle, bundleTime);
}

/**
 * Compiles a CommonJS file as node would (same wrapper, same require), with the code cache
 * when there is a current one; writes a new cache at exit when there was none or V8 refused it.
 * V8 checks a cache against the source only by length, so a cache older than the bundle is
 * never offered to it.
 */
function loadWithCodeCache(file: string, fileTime: number): CliEntry {
  const cacheFile = file + CACHE_SUFFIX;
  const cacheTime = mtimeOf(cacheFile);
  let cachedData: Buffer | undefined;
  if (cacheTime !== undefined && cacheTime >= fileTime) {
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  }
  const source = fs.readFileSync(file, "utf8");
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) process.once("exit", () => writeCache(script, cacheFile));

  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return mod.exports as CliEntry;
}

/** Best effort: a CLI run by a user who cannot write dist/ simply goes without. */
function writeCache(script: vm.Script, cacheFile: string): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing was written
    }
  }
}
