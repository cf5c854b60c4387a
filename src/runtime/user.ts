import { InvalidParameterError } from "../lib/errors";
import { readFileInRoot, RootPathError } from "./rootfs-path";

/**
 * `--user` / image USER resolution against the container's own /etc/passwd and /etc/group, with
 * the semantics of Docker (runc's libcontainer/user GetExecUser): a numeric user needs no passwd
 * entry, a name does; an explicit group replaces the primary gid; memberships in /etc/group count
 * only when no group was given. Files are read inside the root only (rootfs-path.ts).
 */

export interface ResolvedUser {
  uid: number;
  gid: number;
  /**
   * Supplementary groups for the process: the primary gid first (Docker has listed it since the
   * CVE-2022-36109 fix), then the user's /etc/group memberships when no group was given.
   */
  additionalGids: number[];
  /** Home directory from passwd ("/" when there is no entry), for HOME. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

/** Strict decimal: "1000" yes; "1e3", " 1", "+1", "" no. */
function parseId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function checkRange(id: number): number {
  if (id < 0 || id > MAX_ID) throw new InvalidParameterError(`uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const f = t.split(":");
    const uid = parseId(f[2] ?? "");
    const gid = parseId(f[3] ?? "");
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? "" });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const f = t.split(":");
    const gid = parseId(f[2] ?? "");
    if (gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").filter(Boolean) });
  }
  return out;
}

async function readRootFile(root: string, file: string): Promise<string | null> {
  try {
    const buf = await readFileInRoot(root, file);
    return buf === null ? null : buf.toString("utf8");
  } catch (err) {
    if (err instanceof RootPathError) throw new InvalidParameterError(`unable to read ${file}: ${err.message}`);
    throw err;
  }
}

/** Resolves a user spec from already-read file contents (null = the file does not exist). */
export function resolveUserFromFiles(spec: string, passwd: string | null, group: string | null): ResolvedUser {
  const colon = spec.indexOf(":");
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? "" : spec.slice(colon + 1);
  const uidArg = parseId(userArg);
  const gidArg = parseId(groupArg);

  const user: ResolvedUser = { uid: 0, gid: 0, additionalGids: [], home: "/" };
  const users = parsePasswd(passwd ?? "");
  const match = users.find((u) =>
    userArg === "" ? u.uid === user.uid : uidArg !== undefined ? u.uid === uidArg : u.name === userArg,
  );
  let matchedName = "";
  if (match) {
    matchedName = match.name;
    user.uid = match.uid;
    user.gid = match.gid;
    user.home = match.home || "/";
  } else if (userArg !== "") {
    if (uidArg === undefined) {
      throw new InvalidParameterError(`unable to find user ${userArg}: no matching entries in passwd file`);
    }
    user.uid = checkRange(uidArg);
  }

  if (groupArg !== "" || matchedName !== "") {
    const groups = parseGroup(group ?? "");
    if (groupArg !== "") {
      const g = groups.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
      if (g) user.gid = g.gid;
      else if (gidArg === undefined) {
        throw new InvalidParameterError(`unable to find group ${groupArg}: no matching entries in group file`);
      } else user.gid = checkRange(gidArg);
    } else {
      user.additionalGids = [...new Set(groups.filter((e) => e.members.includes(matchedName)).map((e) => e.gid))];
    }
  }
  user.additionalGids = [...new Set([user.gid, ...user.additionalGids])];
  return user;
}

/** Resolves `spec` ("", "uid", "uid:gid", "name", "name:group", "uid:group") inside `rootfs`. */
export async function resolveUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  // Even "" and numeric users take their gid and home from passwd when they are listed there.
  const [passwd, group] = await Promise.all([readRootFile(rootfs, "/etc/passwd"), readRootFile(rootfs, "/etc/group")]);
  return resolveUserFromFiles(spec, passwd, group);
}
