import type { OciSpec } from "../oci-spec";

/**
 * The process the guest agent starts, encoded as the agent reads it: NUL-terminated strings
 *   uid gid ngroups group... cwd hostname stdin(0/1) argc arg... envc env... tty(0/1) rows cols
 */
export function encodeGuestProcess(spec: Pick<OciSpec, "process" | "hostname">, stdinOpen: boolean): Buffer {
  const p = spec.process;
  const groups = (p.user.additionalGids ?? []).slice(0, 64);
  const fields = [
    String(p.user.uid),
    String(p.user.gid),
    String(groups.length),
    ...groups.map(String),
    p.cwd || "/",
    spec.hostname ?? "",
    stdinOpen ? "1" : "0",
    String(p.args.length),
    ...p.args,
    String(p.env.length),
    ...p.env,
    p.terminal ? "1" : "0",
    String(p.consoleSize?.height ?? 0),
    String(p.consoleSize?.width ?? 0),
  ];
  for (const f of fields) if (f.includes("\0")) throw new Error("a process argument or environment variable contains a NUL byte");
  return Buffer.from(fields.map((f) => `${f}\0`).join(""), "utf8");
}
