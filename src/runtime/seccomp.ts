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
type SeccompRule = NonNullable<SeccompProfile["syscalls"]>[number];

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
  /** Syscall ABIs this kernel cannot run (no x32, no ia32 emulation): left out of the filter. */
  unsupportedArches?: ReadonlySet<string>;
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

  // A filter compiled for an ABI the kernel lacks only costs time: libseccomp builds it at every
  // container start (~7 ms for x32 here) for syscalls that would fail with ENOSYS anyway.
  if (ctx.unsupportedArches?.size) architectures = architectures.filter((a) => !ctx.unsupportedArches?.has(a));

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

/** Namespace flags of clone(2): CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
/** Syscalls Docker's default profile allows only with CAP_SYS_ADMIN. */
const ADMIN_ONLY = ["unshare", "setns", "mount", "umount", "umount2", "pivot_root", "clone", "clone3"];
/** The kernel keyring is not namespaced: Docker's default profile refuses it outright. */
const KEYRING = ["keyctl", "add_key", "request_key"];
const ENOSYS = 38;
const EPERM = 1;

/**
 * Debian ships Podman's profile (containers-common), which lets any container create user
 * namespaces (unshare, clone with namespace flags) and use the kernel keyring. Docker's default
 * does neither without CAP_SYS_ADMIN; wharf promises Docker's confinement, so the default
 * profile is narrowed to Docker's rules here: those calls leave the unconditional allow list,
 * come back only with CAP_SYS_ADMIN, clone without namespace flags stays allowed, and clone3
 * answers ENOSYS (libc then falls back to clone, where the flags can be checked). Refused calls
 * fail with EPERM, as in Docker.
 */
export function withDockerDefaults(profile: SeccompProfile): SeccompProfile {
  const removed = new Set([...ADMIN_ONLY, ...KEYRING]);
  const unconditional = (c: SeccompRule): boolean => c.action === "SCMP_ACT_ALLOW" && !c.includes?.caps?.length && !c.args?.length;
  const syscalls = (profile.syscalls ?? []).map((c) => {
    if (!unconditional(c)) return c;
    const names = (c.name ? [c.name] : (c.names ?? [])).filter((n) => !removed.has(n));
    return { ...c, name: undefined, names };
  });
  const admin = { caps: ["CAP_SYS_ADMIN"] };
  syscalls.push(
    { names: ADMIN_ONLY, action: "SCMP_ACT_ALLOW", includes: admin },
    { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }], excludes: { ...admin, arches: ["s390", "s390x"] } },
    // On s390 the flags are clone's second argument.
    { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }], includes: { arches: ["s390", "s390x"] }, excludes: admin },
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS, excludes: admin },
  );
  // Docker answers a refused call with EPERM; Podman's profile says ENOSYS.
  return { ...profile, defaultErrnoRet: EPERM, syscalls };
}
