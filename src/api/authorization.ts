import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { ForbiddenError } from "../lib/errors";
import { realPath } from "../lib/real-path";
import { isWithin } from "../lib/tar/resolve";

/**
 * The daemon's authorization rules (`wharfd --authorization-rules FILE`): what even a client
 * with access to the API may not ask for. Checked on container create and exec create, before
 * anything exists; a refusal is a 403 naming the rule, as Docker's authorization plugins answer.
 *
 *   { "denyPrivileged": true, "denyHostNamespaces": true, "denyCapAdd": ["SYS_ADMIN"],
 *     "allowedBindPaths": ["/srv/data"] }
 */
const rulesSchema = z
  .object({
    /** --privileged (containers and exec). */
    denyPrivileged: z.boolean().optional(),
    /** --network/--pid/--ipc/--uts/--userns host, and --cgroupns host. */
    denyHostNamespaces: z.boolean().optional(),
    /** Capabilities --cap-add may not name; true denies any --cap-add. */
    denyCapAdd: z.union([z.boolean(), z.array(z.string())]).optional(),
    /** Host paths binds may come from (the path or below it); absent allows any. */
    allowedBindPaths: z.array(z.string().startsWith("/")).optional(),
  })
  .strict();

export type AuthorizationRules = z.infer<typeof rulesSchema>;

export class Authorization {
  private constructor(
    private readonly rules: AuthorizationRules,
    private readonly source: string,
  ) {}

  /** Reads and checks the rules file; a bad file stops the daemon (better than guessing). */
  static load(file: string): Authorization {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`authorization rules ${file}: ${(err as Error).message}`);
    }
    const r = rulesSchema.safeParse(parsed);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new Error(`authorization rules ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    }
    return new Authorization(r.data, path.basename(file));
  }

  private deny(what: string): never {
    throw new ForbiddenError(`authorization denied by wharf rules (${this.source}): ${what}`);
  }

  /** POST /containers/create's HostConfig. */
  checkContainer(hostConfig: Record<string, unknown> | null | undefined): void {
    const hc = hostConfig ?? {};
    const rules = this.rules;
    if (rules.denyPrivileged && hc.Privileged === true) this.deny("--privileged is not allowed");
    if (rules.denyHostNamespaces) {
      const modes: Array<[string, string]> = [["NetworkMode", "--network"], ["PidMode", "--pid"], ["IpcMode", "--ipc"], ["UTSMode", "--uts"], ["UsernsMode", "--userns"], ["CgroupnsMode", "--cgroupns"]];
      for (const [field, flag] of modes) if (hc[field] === "host") this.deny(`${flag} host is not allowed`);
    }
    const capAdd = Array.isArray(hc.CapAdd) ? (hc.CapAdd as unknown[]).filter((c): c is string => typeof c === "string") : [];
    if (rules.denyCapAdd === true && capAdd.length) this.deny("--cap-add is not allowed");
    if (Array.isArray(rules.denyCapAdd)) {
      const denied = new Set(rules.denyCapAdd.map(capName));
      for (const cap of capAdd) if (denied.has(capName(cap)) || capName(cap) === "ALL") this.deny(`--cap-add ${capName(cap)} is not allowed`);
    }
    if (rules.allowedBindPaths) for (const source of bindSources(hc)) this.checkBind(source, rules.allowedBindPaths);
  }

  /** POST /containers/{id}/exec. */
  checkExec(body: { Privileged?: boolean | null }): void {
    if (this.rules.denyPrivileged && body.Privileged === true) this.deny("exec --privileged is not allowed");
  }

  /** By the real path: a symlink under an allowed path must not lead a bind elsewhere. */
  private checkBind(source: string, allowed: string[]): void {
    const p = realPath(source);
    if (!allowed.some((a) => isWithin(realPath(a), p))) {
      this.deny(`bind mount of ${source} is outside the allowed paths (${allowed.join(", ")})`);
    }
  }
}

function capName(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, "");
}

/** Host paths of -v binds (absolute sources only: names are volumes) and --mount type=bind. */
function bindSources(hc: Record<string, unknown>): string[] {
  const sources: string[] = [];
  for (const bind of Array.isArray(hc.Binds) ? (hc.Binds as unknown[]) : []) {
    if (typeof bind === "string" && bind.startsWith("/")) sources.push(bind.split(":")[0]);
  }
  for (const m of Array.isArray(hc.Mounts) ? (hc.Mounts as Array<Record<string, unknown>>) : []) {
    if (m?.Type === "bind" && typeof m.Source === "string") sources.push(m.Source);
  }
  return sources;
}
