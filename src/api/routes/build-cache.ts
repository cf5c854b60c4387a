import { filtersParam, sendJson, type Router } from "../router";
import { validateFilters } from "../../engine/images/views";
import type { Builder } from "../../engine/build/builder";

/**
 * POST /build/prune: forgets the build cache and removes the intermediate images only it kept
 * (`docker builder prune`, and `docker system prune` calls it too).
 */
export function registerBuildCacheRoutes(router: Router, builder?: Builder): void {
  router.post("/build/prune", async ({ res, query }) => {
    validateFilters(filtersParam(query), ["until", "id", "parent", "type", "description", "inuse", "shared", "private", "label", "label!"]);
    if (builder) return sendJson(res, 200, await builder.prune());
    sendJson(res, 200, { CachesDeleted: null, SpaceReclaimed: 0 });
  });
}
