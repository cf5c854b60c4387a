import { errorMessage } from "../../lib/errors";
import type { ContainerRuntime } from "../../runtime/types";

/** A freeze shared by the copies walking one container's root. */
interface Freeze {
  holders: number;
  frozen: Promise<void>;
  /** Settles when the last holder lets go (or a kill breaks the freeze). */
  released: Promise<void>;
  release(): void;
}

/**
 * Freezes a running container's processes while the daemon walks its root from the host
 * (cp, export), so that nothing inside can swap a directory for a symlink between the
 * daemon's path checks and its reads and writes (CVE-2018-15664; Docker pauses too).
 * Not a pause: no state change, no event. Concurrent walks share one freeze; a user's pause
 * meanwhile is kept; a kill breaks the freeze; an exec waits for it to end.
 */
export class HostAccessFreezer {
  private readonly freezes = new Map<string, Freeze>();
  /** runc refuses to pause a container whose last thaw is still under way. */
  private readonly thaws = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      runtime: Pick<ContainerRuntime, "pause" | "resume">;
      /** Whether the container runs and is not paused by its user, now. */
      runsUnpaused(id: string): boolean;
      log: { warn(obj: object, msg?: string): void };
    },
  ) {}

  /** Freezes `id` if it runs; returns the release, safe to call more than once. */
  async freeze(id: string): Promise<() => void> {
    await this.thaws.get(id);
    if (!this.deps.runsUnpaused(id)) return () => undefined;
    let freeze = this.freezes.get(id);
    if (!freeze) {
      const frozen = this.deps.runtime.pause(id).catch((err: unknown) => {
        // a container that stopped meanwhile has no process left to race with
        if (this.deps.runsUnpaused(id)) throw err;
      });
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      freeze = { holders: 0, frozen, released, release };
      this.freezes.set(id, freeze);
    }
    const held = freeze;
    held.holders++;
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      if (--held.holders > 0 || this.freezes.get(id) !== held) return;
      this.freezes.delete(id);
      held.release();
      if (this.deps.runsUnpaused(id)) this.thaw(id, held.frozen);
    };
    try {
      await held.frozen;
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /** Resolves once no copy holds the container frozen and its thaw is done. */
  async settled(id: string): Promise<void> {
    for (;;) {
      const pending = this.freezes.get(id)?.released ?? this.thaws.get(id);
      if (!pending) return;
      await pending;
    }
  }

  /** A kill wins over a copy: the container is thawed now (its copy goes on unprotected). */
  async breakFreeze(id: string): Promise<void> {
    const freeze = this.freezes.get(id);
    if (!freeze) return;
    this.freezes.delete(id);
    freeze.release();
    await freeze.frozen.catch(() => undefined);
    await this.deps.runtime.resume(id).catch(() => undefined);
  }

  private thaw(id: string, frozen: Promise<void>): void {
    const thawing = frozen
      .then(() => this.deps.runtime.resume(id))
      .catch((err: unknown) => this.deps.log.warn({ id, err: errorMessage(err) }, "could not thaw the container after a copy"))
      .finally(() => {
        if (this.thaws.get(id) === thawing) this.thaws.delete(id);
      });
    this.thaws.set(id, thawing);
  }
}
