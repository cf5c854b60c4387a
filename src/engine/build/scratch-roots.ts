import * as fs from "node:fs";
import { newId } from "../../lib/ids";
import { nodeStream } from "../../lib/tar/pack-path";
import { packDirectory } from "../../lib/tar/write";
import type { Lease, SnapshotStore } from "../../store/snapshots";
import type { BuildCacheStore } from "./build-cache";
import type { StageState } from "./types";

export interface ScratchRoot {
  id: string;
  remove: () => Promise<void>;
}

/**
 * Throwaway overlay roots of a build: where COPY/ADD/WORKDIR write (the upper dir becomes the
 * step's layer), and read-only views of another stage or image (COPY --from, RUN --mount
 * from=). Each is recorded until removed, so that those of a build the daemon died in go at start.
 */
export class ScratchRoots {
  constructor(
    private readonly snapshots: SnapshotStore,
    private readonly cache: BuildCacheStore,
  ) {}

  async scratch(): Promise<ScratchRoot> {
    const id = newId();
    this.cache.recordScratch(id);
    await this.snapshots.create(id);
    return {
      id,
      remove: async () => {
        await this.snapshots.remove(id);
        this.cache.forgetScratch(id);
      },
    };
  }

  /** A layer chain mounted at a fresh scratch root; `cleanup` unmounts and removes it. */
  async mountChain(chainIds: string[]): Promise<{ root: string; cleanup: () => Promise<void> }> {
    const sc = await this.scratch();
    try {
      const root = await this.snapshots.mount(sc.id, chainIds.map((c) => this.snapshots.layerDir(c)));
      return { root, cleanup: sc.remove };
    } catch (err) {
      await sc.remove().catch(() => undefined);
      throw err;
    }
  }

  /** A scratch overlay on top of the stage's image for `fn` to change; its upper dir becomes the layer. */
  async withRoot(state: StageState, lease: Lease, fn: (root: string) => Promise<void> | void): Promise<{ diffId: string; chainId: string } | undefined> {
    const { snapshots } = this;
    const sc = await this.scratch();
    const snapId = sc.id;
    try {
      const root = await snapshots.mount(snapId, state.chainIds.map((c) => snapshots.layerDir(c)));
      try {
        await fn(root);
      } finally {
        await snapshots.unmount(snapId);
      }
      const upper = snapshots.upperPath(snapId);
      if (fs.readdirSync(upper).length === 0) return undefined;
      const layer = await snapshots.applyLayer(nodeStream(packDirectory(upper, { whiteouts: true })), { parent: state.chainIds[state.chainIds.length - 1], lease });
      return { diffId: layer.diffId, chainId: layer.chainId };
    } finally {
      await sc.remove().catch(() => undefined);
    }
  }
}
