import { filtersParam, sendJson, type Router } from "../router";
import { validateFilters } from "../../engine/images/views";

/**
 * POST /build/prune: wharf keeps no build cache yet, so there is never anything to remove; the
 * endpoint exists because `docker system prune` calls it and fails on a 404.
 */
export function registerBuildCacheRoutes(router: Router): void {
  router.post("/build/prune", async ({ res, query }) => {
    validateFilters(filtersParam(query), ["until", "id", "parent", "type", "description", "inuse", "shared", "private", "label", "label!"]);
    sendJson(res, 200, { CachesDeleted: null, SpaceReclaimed: 0 });
  });
}
