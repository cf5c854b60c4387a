import type { ContainerService } from "../../engine/containers/container-service";
import { summaryView } from "../../engine/containers/views";
import type { ImageService } from "../../engine/images/image-service";
import { dirSize } from "../../lib/dir-size";
import type { SnapshotStore } from "../../store/snapshots";
import { type Router, sendJson } from "../router";

/** GET /system/df: what images, containers (their writable layers) and volumes use. */
export function registerDiskUsageRoutes(router: Router, deps: { containers: ContainerService; images: ImageService; snapshots: SnapshotStore }): void {
  router.get("/system/df", async ({ res }) => {
    const records = deps.containers.list();
    const now = Date.now();
    const containers = await Promise.all(
      records.map(async (record) => ({ ...summaryView(record, now), SizeRw: await dirSize(deps.snapshots.upperPath(record.Id)), SizeRootFs: 0 })),
    );
    const images = deps.images.list({ all: true }).map((image) => ({
      ...image,
      Containers: records.filter((c) => c.Image === image.Id).length,
    }));
    // Layers are shared between images: each unpacked layer counts once.
    const layersSize = deps.snapshots.list().reduce((sum, layer) => sum + layer.size, 0);
    sendJson(res, 200, { LayersSize: layersSize, Images: images, Containers: containers, Volumes: [], BuildCache: [] });
  });
}
