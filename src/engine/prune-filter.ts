import { labelsMatch, parseTimestamp, validateFilters } from "./images/views";

/**
 * The filters Docker's container, network and system prune take: `until` (created at or
 * before the time), `label` (all must match) and `label!` (skipped when all of them match,
 * as moby's matchLabels does). Throws Docker's `invalid filter 'x'` for any other key.
 */
export function pruneFilter(filters: Map<string, string[]>, now = Date.now()): (createdMs: number, labels: Record<string, string> | null | undefined) => boolean {
  validateFilters(filters, ["until", "label", "label!"]);
  const until = (filters.get("until") ?? []).map((v) => parseTimestamp(v, now));
  const labels = filters.get("label") ?? [];
  const notLabels = filters.get("label!") ?? [];
  return (createdMs, l) => {
    if (until.some((u) => createdMs > u)) return false;
    if (labels.length > 0 && !labelsMatch(labels, l)) return false;
    if (notLabels.length > 0 && labelsMatch(notLabels, l)) return false;
    return true;
  };
}
