import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { OciSpec } from "./oci-spec";

/** crun's annotation for a compiled filter, used instead of compiling the spec's seccomp section. */
export const CRUN_SECCOMP_BPF_ANNOTATION = "run.oci.seccomp_bpf_data";
/** Where crun leaves the filter it loaded, in its state dir of the container. */
const CRUN_STATE_FILTER = "seccomp.bpf";
/** Distinct profiles kept (in memory and on disk); more are compiled by crun each time, as without the cache. */
const MAX_ENTRIES = 64;

/**
 * Compiled seccomp filters for crun. crun compiles the spec's seccomp section with libseccomp
 * at every create (~6 ms of its ~18 ms here for Docker's profile) and writes the result to its
 * state dir; given the annotation run.oci.seccomp_bpf_data (base64 of that same program) it
 * loads it instead. The first container with a profile has crun compile it; the program is kept
 * under a key of the profile's exact text, crun's binary and the kernel, and later containers
 * with that profile pass it. The section stays in config.json for anyone reading it.
 */
export class SeccompFilterCache {
  private readonly identity: string;
  /** Programs read or kept by this daemon, base64 by key: the file is read once, not at every create. */
  private readonly known = new Map<string, string>();

  /** `dir` is root-only (under the exec root: a reboot or a new crun or kernel starts afresh). */
  constructor(
    private readonly dir: string,
    crunBinary: string,
  ) {
    const st = fs.statSync(crunBinary);
    this.identity = `${crunBinary}\0${st.size}\0${st.mtimeMs}\0${os.release()}`;
  }

  private key(spec: OciSpec): string | null {
    const section = spec.linux.seccomp;
    if (!section) return null;
    return createHash("sha256").update(this.identity).update("\0").update(JSON.stringify(section)).digest("hex");
  }

  /** Puts the compiled filter of the spec's profile into its annotations when there is one. */
  async apply(spec: OciSpec): Promise<void> {
    const key = this.key(spec);
    if (!key) return;
    let encoded = this.known.get(key);
    if (encoded === undefined) {
      // Kept by an earlier daemon of this boot.
      const program = await fsp.readFile(path.join(this.dir, key)).catch(() => null);
      if (!program || !isProgram(program)) return;
      encoded = program.toString("base64");
      if (this.known.size < MAX_ENTRIES) this.known.set(key, encoded);
    }
    spec.annotations = { ...spec.annotations, [CRUN_SECCOMP_BPF_ANNOTATION]: encoded };
  }

  /** After crun created the container: keeps the filter it compiled for the spec's profile. */
  async remember(spec: OciSpec, crunStateDir: string): Promise<void> {
    if (spec.annotations?.[CRUN_SECCOMP_BPF_ANNOTATION]) return;
    const key = this.key(spec);
    if (!key || this.known.size >= MAX_ENTRIES) return;
    const program = await fsp.readFile(path.join(crunStateDir, CRUN_STATE_FILTER)).catch(() => null);
    if (!program || !isProgram(program)) return;
    this.known.set(key, program.toString("base64"));
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    if ((await fsp.readdir(this.dir)).length >= MAX_ENTRIES) return;
    // Written whole under another name, then renamed: a reader never sees part of a program.
    const tmp = path.join(this.dir, `.${key}.${process.pid}`);
    await fsp.writeFile(tmp, program, { mode: 0o600 });
    await fsp.rename(tmp, path.join(this.dir, key));
  }
}

/** A BPF program is a whole, non-zero number of 8-byte instructions. */
function isProgram(program: Buffer): boolean {
  return program.length > 0 && program.length % 8 === 0;
}
