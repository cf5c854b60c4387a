import { InvalidParameterError } from "../../lib/errors";
import type { IdMapping } from "../../lib/id-mapping";
import type { Metadata } from "../../store/metadata";
import {
  createSystemUser,
  ensureSubordinateIds,
  lookupId,
  SUBGID_FILE,
  SUBUID_FILE,
  subordinateRanges,
  userExists,
} from "./subordinate-ids";
import { AUTO_RANGE_SIZE, type PoolSource, UsernsPool } from "./userns-pool";
import type { HostConfig } from "./types";

/** The user `--userns-remap=default` creates and uses (dockerd's is dockremap). */
export const DEFAULT_REMAP_USER = "wharfremap";
/** The owner of the --userns=auto pool's ranges in /etc/subuid and /etc/subgid. */
export const DEFAULT_POOL_USER = "wharf";
/** Ids the daemon gives its pool user when it has none: 1024 containers' worth. */
const DEFAULT_POOL_IDS = AUTO_RANGE_SIZE * 1024;
/** Ids `--userns-remap=default` gives its user when it has none (dockerd gives dockremap 65536). */
const DEFAULT_REMAP_IDS = 65536;

/** The daemon's user-namespace options (wharfd --userns-remap, --userns-default, --userns-pool). */
export interface UsernsOptions {
  /** dockerd's --userns-remap: "default" or USER[:GROUP]; every container that asks for nothing shares its mapping. */
  remap?: string;
  /** The mode of containers that ask for nothing (when not remapping). */
  defaultMode: "host" | "auto";
  poolUser: string;
}

/** How one container's ids are mapped, decided at create. */
export type UsernsChoice = { kind: "host" } | { kind: "auto" } | { kind: "remap"; mapping: IdMapping };

/**
 * Docker's per-container user-namespace rules: `--userns=host` opts out of the daemon's
 * mapping, `--userns=auto` takes a private range from the pool, "" takes the daemon's default.
 * A mapped container cannot be privileged or share the host's network or pid namespace, with
 * dockerd's own errors.
 */
export class UsernsPolicy {
  readonly pool: UsernsPool;
  private readonly remapping: IdMapping | undefined;

  constructor(
    private readonly options: UsernsOptions,
    metadata: Metadata,
  ) {
    this.pool = new UsernsPool(metadata, poolSource(options.poolUser));
    this.remapping = options.remap ? remapMapping(options.remap, options.poolUser) : undefined;
  }

  /** Validates HostConfig.UsernsMode against the rest of the HostConfig; throws Docker's errors. */
  choose(hostConfig: HostConfig): UsernsChoice {
    const requested = typeof hostConfig.UsernsMode === "string" ? hostConfig.UsernsMode : "";
    if (requested !== "" && requested !== "host" && requested !== "auto") {
      throw new InvalidParameterError(`invalid USER mode: ${requested}: use "host" or "auto"`);
    }
    let choice: UsernsChoice;
    if (requested === "host") choice = { kind: "host" };
    else if (requested === "auto") choice = { kind: "auto" };
    else if (this.remapping) choice = { kind: "remap", mapping: this.remapping };
    else choice = { kind: this.options.defaultMode };
    if (choice.kind === "host") return choice;
    if (hostConfig.Privileged) {
      throw new InvalidParameterError(
        "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode",
      );
    }
    if (hostConfig.NetworkMode === "host") {
      throw new InvalidParameterError("cannot share the host's network namespace when user namespaces are enabled");
    }
    if (hostConfig.PidMode === "host") {
      throw new InvalidParameterError("cannot share the host PID namespace when user namespaces are enabled");
    }
    return choice;
  }

  /** The mapping for a new container (allocating from the pool for auto); undefined for host. */
  mappingFor(containerId: string, choice: UsernsChoice): IdMapping | undefined {
    if (choice.kind === "host") return undefined;
    if (choice.kind === "remap") return choice.mapping;
    return this.pool.allocate(containerId);
  }
}

/**
 * --userns-pool: a user whose ranges in /etc/subuid and /etc/subgid are the pool (given
 * DEFAULT_POOL_IDS there when it has none), or START:COUNT, one explicit range used for both.
 */
function poolSource(pool: string): PoolSource {
  const explicit = /^(\d+):(\d+)$/.exec(pool);
  if (explicit) {
    const range = { start: Number(explicit[1]), count: Number(explicit[2]) };
    if (range.start < 1 || range.start + range.count > 2 ** 32 - 1) throw new Error(`invalid --userns-pool ${pool}: ids must lie in 1..4294967294`);
    return { describe: `--userns-pool ${pool}`, ranges: () => ({ uids: [range], gids: [range] }) };
  }
  return {
    describe: `user "${pool}" in ${SUBUID_FILE} and ${SUBGID_FILE}`,
    ranges: () => {
      ensureSubordinateIds(pool, DEFAULT_POOL_IDS);
      return { uids: subordinateRanges(SUBUID_FILE, [pool]), gids: subordinateRanges(SUBGID_FILE, [pool]) };
    },
  };
}

/** dockerd's --userns-remap value: "default", USER, USER:GROUP, or numeric ids. */
function remapMapping(spec: string, poolUser: string): IdMapping {
  let [user, group] = spec.split(":", 2) as [string, string | undefined];
  if (spec === "default") {
    user = DEFAULT_REMAP_USER;
    if (!userExists(user)) createSystemUser(user);
    ensureSubordinateIds(user, DEFAULT_REMAP_IDS);
  }
  if (!user) throw new Error(`invalid --userns-remap ${JSON.stringify(spec)}: want default or USER[:GROUP]`);
  group = group || user;
  if (user === poolUser) throw new Error(`--userns-remap user ${user} is the --userns=auto pool's user; pick another (--userns-pool)`);
  const uidNames = [user, ...idOf("passwd", user)];
  const gidNames = [group, ...idOf("group", group)];
  const uids = subordinateRanges(SUBUID_FILE, uidNames);
  const gids = subordinateRanges(SUBGID_FILE, gidNames);
  if (!uids.length) throw new Error(`--userns-remap: no subordinate uid range for ${user} in ${SUBUID_FILE}`);
  if (!gids.length) throw new Error(`--userns-remap: no subordinate gid range for ${group} in ${SUBGID_FILE}`);
  return { uidBase: uids[0].start, gidBase: gids[0].start, size: Math.min(uids[0].count, gids[0].count) };
}

function idOf(database: "passwd" | "group", name: string): string[] {
  if (/^\d+$/.test(name)) return [];
  const id = lookupId(database, name);
  return id === undefined ? [] : [String(id)];
}
