import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { SystemError } from "../../lib/errors";

/**
 * /etc/subuid and /etc/subgid ("owner:start:count" lines), the host's record of which ids
 * belong to whom. wharf reads the ranges of its pool user and of a --userns-remap user there,
 * and appends ranges for its own users when they have none (as dockerd does for dockremap).
 */
export interface SubidRange {
  start: number;
  count: number;
}

export const SUBUID_FILE = "/etc/subuid";
export const SUBGID_FILE = "/etc/subgid";
/** Subordinate ids start above the ids of real users (shadow's SUB_UID_MIN). */
const FIRST_SUBORDINATE_ID = 100_000;
const ID_LIMIT = 2 ** 32 - 2;

interface Entry extends SubidRange {
  owner: string;
}

function readEntries(file: string): Entry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: Entry[] = [];
  for (const line of text.split("\n")) {
    const m = /^([^:#\s][^:]*):(\d+):(\d+)\s*$/.exec(line.trim());
    if (m) out.push({ owner: m[1], start: Number(m[2]), count: Number(m[3]) });
  }
  return out;
}

/** The ranges listed for a user, by name or by numeric uid (either form may be in the file). */
export function subordinateRanges(file: string, owners: string[]): SubidRange[] {
  return readEntries(file)
    .filter((e) => owners.includes(e.owner))
    .map(({ start, count }) => ({ start, count }));
}

/**
 * Gives `owner` `count` ids in both files when it has none in a file: the first aligned start
 * above every range listed in either file, appended under the same name, with the file
 * rewritten through a temp file and rename.
 */
export function ensureSubordinateIds(owner: string, count: number, files = { uid: SUBUID_FILE, gid: SUBGID_FILE }): void {
  const all = [...readEntries(files.uid), ...readEntries(files.gid)];
  const needUid = !readEntries(files.uid).some((e) => e.owner === owner);
  const needGid = !readEntries(files.gid).some((e) => e.owner === owner);
  if (!needUid && !needGid) return;
  const end = all.reduce((max, e) => Math.max(max, e.start + e.count), FIRST_SUBORDINATE_ID);
  const start = Math.ceil(end / 65536) * 65536;
  if (start + count > ID_LIMIT) throw new SystemError(`no room for ${count} subordinate ids for ${owner} in ${files.uid}`);
  for (const [need, file] of [[needUid, files.uid], [needGid, files.gid]] as const) {
    if (!need) continue;
    const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const text = `${before}${before === "" || before.endsWith("\n") ? "" : "\n"}${owner}:${start}:${count}\n`;
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.wharf-${process.pid}`);
    fs.writeFileSync(temp, text, { mode: 0o644 });
    fs.renameSync(temp, file);
  }
}

/** Whether the host knows the user (getent passwd). */
export function userExists(name: string): boolean {
  try {
    execFileSync("getent", ["passwd", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Creates a system user with no home and no login shell (useradd), as dockerd creates dockremap. */
export function createSystemUser(name: string): void {
  try {
    execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    throw new SystemError(`cannot create user ${name} for --userns-remap: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || String(err)}`);
  }
}

/** The numeric uid and gid of a user or group name, when the host knows it. */
export function lookupId(database: "passwd" | "group", name: string): number | undefined {
  try {
    const line = execFileSync("getent", [database, name], { encoding: "utf8" }).split("\n")[0];
    const id = Number(line.split(":")[2]);
    return Number.isInteger(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
