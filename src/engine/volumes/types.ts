/** A volume as stored and as Docker's API shows it (inspect, list). */
export interface VolumeRecord {
  Name: string;
  Driver: string;
  Mountpoint: string;
  /** RFC 3339, as Docker prints it. */
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope: "local";
}

/** The label Docker puts on volumes it named itself (image VOLUME, `-v /path`, unnamed create). */
export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

export function isAnonymous(v: VolumeRecord): boolean {
  return v.Labels !== null && ANONYMOUS_LABEL in v.Labels;
}
