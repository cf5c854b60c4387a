/** POST /images/create?fromImage=…: the pull that run/create do for a missing image. */
import type { Writable } from "node:stream";
import type { ApiClient } from "./api-client";
import { displayJsonMessages } from "./jsonstream";
import { StatusError, messageOf } from "./errors";
import { registryAuthHeader } from "./docker-config";
import { fullName, parseNormalizedNamed, Reference, tagNameOnly } from "../lib/reference";

/** The tag (or digest) the API wants next to fromImage. */
function apiTag(ref: Reference): string {
  if (ref.digest) return ref.digest;
  return tagNameOnly(ref).tag ?? "";
}

/**
 * Pulls `image`, writing the daemon's progress messages to `out` (none when undefined);
 * `allTags` pulls every tag of the repository (no tag is sent, as docker's -a does).
 */
export async function pullImage(
  client: ApiClient,
  image: string,
  platform: string | undefined,
  out: (Writable & { isTTY?: boolean }) | undefined,
  env: NodeJS.ProcessEnv,
  allTags = false,
): Promise<void> {
  const ref = parseNormalizedNamed(image);
  const auth = registryAuthHeader(env, ref.domain);
  const res = await client.request("POST", "/images/create", {
    query: { fromImage: fullName(ref), tag: allTags ? undefined : apiTag(ref), platform },
    headers: auth ? { "X-Registry-Auth": auth } : undefined,
  });
  await displayJsonMessages(res, out);
}

/**
 * The NAME of `pull`/`push` with docker's checks: a bad reference exits 1, and -a takes a
 * repository only. Returns the reference (a tag added, unless -a or a digest).
 */
export function transferReference(name: string, allTags: boolean): Reference {
  let ref: Reference;
  try {
    ref = parseNormalizedNamed(name);
  } catch (err) {
    throw new StatusError(messageOf(err), 1);
  }
  if (allTags && (ref.tag || ref.digest)) throw new StatusError("tag can't be used with --all-tags/-a", 1);
  return allTags || ref.digest ? ref : tagNameOnly(ref);
}
