import { z } from "zod";
import { InvalidParameterError } from "../lib/errors";
import type { OciSeccomp, OciSyscall } from "./oci-spec";

/**
 * Docker's seccomp profile format (the one /usr/share/containers/seccomp.json uses) -> the OCI
 * `linux.seccomp` object. Rules carry includes/excludes conditions on the container's
 * capabilities, the architecture and the kernel version; those are decided here, once, for one
 * container, so the runtime gets a flat list.
 */

const filterSchema = z
  .object({
    caps: z.array(z.string()).nullish(),
    arches: z.array(z.string()).nullish(),
    minKernel: z.string().nullish(),
  })
  .passthrough();

const argSchema = z
  .object({
    index: z.number().int().min(0),
    value: z.number(),
    valueTwo: z.number().nullish(),
    op: z.string(),
  })
  .passthrough();

const syscallSchema = z
  .object({
    name: z.string().nullish(),
    names: z.array(z.string()).nullish(),
    action: z.string(),
    args: z.array(argSchema).nullish(),
    includes: filterSchema.nullish(),
    excludes: filterSchema.nullish(),
    errnoRet: z.number().int().nullish(),
  })
  .passthrough();

const profileSchema = z
  .object({
    defaultAction: z.string(),
    defaultErrnoRet: z.number().int().nullish(),
    architectures: z.array(z.string()).nullish(),
    archMap: z
      .array(z.object({ architecture: z.string(), subArchitectures: z.array(z.string()).nullish() }).passthrough())
      .nullish(),
    syscalls: z.array(syscallSchema).nullish(),
  })
  .passthrough();

export type SeccompProfile = z.infer<typeof profileSchema>;

/** Go architecture names (what profiles' `arches` use) -> libseccomp architecture names. */
const NATIVE_TO_SECCOMP: Record<string, string> = {
  amd64: "SCMP_ARCH_X86_64",
  "386": "SCMP_ARCH_X86",
  arm64: "SCMP_ARCH_AARCH64",
  arm: "SCMP_ARCH_ARM",
  ppc64le: "SCMP_ARCH_PPC64LE",
  s390x: "SCMP_ARCH_S390X",
  mips64le: "SCMP_ARCH_MIPSEL64",
  riscv64: "SCMP_ARCH_RISCV64",
};

export interface SeccompContext {
  /** The container's bounding capabilities (CAP_* names). */
  caps: ReadonlySet<string>;
  /** Go architecture name of the host, e.g. "amd64". */
  arch: string;
  kernel: [number, number];
}

/** Parses and validates profile text; bad input is a 400 as Docker's "Decoding seccomp profile failed". */
export function parseSeccompProfile(text: string): SeccompProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidParameterError(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidParameterError(
      `Decoding seccomp profile failed: ${issue.path.join(".") || "profile"}: ${issue.message}`,
    );
  }
  return parsed.data;
}

function kernelAtLeast(kernel: [number, number], min: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(min.trim());
  if (!m) throw new InvalidParameterError(`seccomp: invalid minKernel version ${JSON.stringify(min)}`);
  const [maj, minor] = [Number(m[1]), Number(m[2])];
  return kernel[0] > maj || (kernel[0] === maj && kernel[1] >= minor);
}

/** Converts a parsed profile for one container. */
export function convertSeccompProfile(profile: SeccompProfile, ctx: SeccompContext): OciSeccomp {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidParameterError("seccomp: use either 'architectures' or 'archMap'");
  }
  let architectures: string[] = profile.architectures ?? [];
  if (profile.archMap?.length) {
    const native = NATIVE_TO_SECCOMP[ctx.arch];
    architectures = [];
    for (const entry of profile.archMap) {
      if (native !== undefined && entry.architecture === native) {
        architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
      }
    }
  }

  const syscalls: OciSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    if (call.name && call.names?.length) {
      throw new InvalidParameterError("seccomp: use either 'name' or 'names'");
    }
    const inc = call.includes;
    const exc = call.excludes;
    if (exc?.arches?.includes(ctx.arch)) continue;
    if (exc?.caps?.some((c) => ctx.caps.has(c))) continue;
    if (exc?.minKernel && kernelAtLeast(ctx.kernel, exc.minKernel)) continue;
    if (inc?.arches?.length && !inc.arches.includes(ctx.arch)) continue;
    if (inc?.caps?.length && !inc.caps.every((c) => ctx.caps.has(c))) continue;
    if (inc?.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) continue;

    const names = call.name ? [call.name] : (call.names ?? []);
    if (names.length === 0) continue;
    const rule: OciSyscall = { names, action: call.action };
    if (call.errnoRet !== undefined && call.errnoRet !== null) rule.errnoRet = call.errnoRet;
    if (call.args?.length) {
      rule.args = call.args.map((a) => ({
        index: a.index,
        value: a.value,
        ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}),
        op: a.op,
      }));
    }
    syscalls.push(rule);
  }

  const out: OciSeccomp = { defaultAction: profile.defaultAction, architectures, syscalls };
  if (profile.defaultErrnoRet !== undefined && profile.defaultErrnoRet !== null) {
    out.defaultErrnoRet = profile.defaultErrnoRet;
  }
  return out;
}
