#!/usr/bin/env node
"use strict";
// Bundles the compiled CLI (dist/src/cli/main.js and what it requires, npm packages left
// external) into dist/src/cli/main.bundle.js: one file to read and compile instead of ~150,
// which bin/wharf loads through V8's code cache (src/cli/launch.ts). Run after tsc.
// The bundle sits beside main.js so that __dirname-relative paths resolve the same.
const fs = require("node:fs");
const path = require("node:path");

const dir = path.join(__dirname, "..", "dist", "src", "cli");
const outfile = path.join(dir, "main.bundle.js");
require("esbuild").buildSync({
  entryPoints: [path.join(dir, "main.js")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  packages: "external",
  // Less to read and parse at every start; names stay, so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
// A cache made for the previous bundle must not be offered to V8 (launch.ts also checks mtimes).
fs.rmSync(outfile + ".v8cache", { force: true });
// The code cache is written by the first run after a build; make that run now, while dist/ is
// writable (a user who cannot write it would otherwise compile the whole bundle at every start).
// `run --help` loads what `run` needs without a daemon.
require("node:child_process").spawnSync(process.execPath, [path.join(__dirname, "..", "bin", "wharf"), "run", "--help"], { stdio: "ignore" });
