import type { ContainerService } from "../../engine/containers/container-service";
import { summaryView } from "../../engine/containers/views";
import type { ImageService } from "../../engine/images/image-service";
import { dirSize } from "../../lib/dir-size";
import type { SnapshotStore } from "../../store/snapshots";
import type { VolumeService } from "../../engine/volumes/volume-service";
import { type Router, sendJson } from "../router";

/** GET /system/df: what images, containers (their writable layers) and volumes use. */
export function registerDiskUsageRoutes(
  router: Router,
  deps: { containers: ContainerService; images: ImageService; snapshots: SnapshotStore; volumes?: VolumeService; buildCache?: () => Promise<unknown[]> },
): void {
  router.get("/system/df", async ({ res }) => {
    const records = deps.containers.list();
    const now = Date.now();
    const containers = await Promise.all(
      records.map(async (record) => ({ ...summaryView(record, now), SizeRw: await dirSize(deps.snapshots.upperPath(record.Id)), SizeRootFs: 0 })),
    );
    const listed = deps.images.list({ all: true });
    // SharedSize: the image's layers that another image uses too (Docker's df computes it so).
    const chains = new Map(listed.map((image) => [image.Id, deps.images.get(image.Id)?.chainIds ?? []]));
    const users = new Map<string, number>();
    for (const ids of chains.values()) for (const c of ids) users.set(c, (users.get(c) ?? 0) + 1);
    const images = listed.map((image) => ({
      ...image,
      SharedSize: (chains.get(image.Id) ?? []).filter((c) => (users.get(c) ?? 0) > 1).reduce((n, c) => n + (deps.snapshots.get(c)?.size ?? 0), 0),
      Containers: records.filter((c) => c.Image === image.Id).length,
    }));
    // Layers are shared between images: each unpacked layer counts once.
    const layersSize = deps.snapshots.list().reduce((sum, layer) => sum + layer.size, 0);
    const volumeService = deps.volumes;
    const volumes = volumeService
      ? await Promise.all(volumeService.list().map(async (v) => ({ ...v, UsageData: { Size: await volumeService.size(v.Name), RefCount: volumeService.refs(v.Name).length } })))
      : [];
    sendJson(res, 200, { LayersSize: layersSize, Images: images, Containers: containers, Volumes: volumes, BuildCache: deps.buildCache ? await deps.buildCache() : [] });
  });
}
