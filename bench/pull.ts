import { type Ctx, type Deadline, type Engine, type Row, type Scenario, createContainer, engines, expectStatus, now, removeBenchContainers, stats } from "./harness";
import { startDistributionRegistry } from "../test/helpers/distribution-registry";

/**
 * Pull: an image of LAYERS layers of LAYER_BYTES incompressible bytes each (on busybox) is
 * built on wharf, pushed by wharf to Debian's docker-registry on loopback, then pulled with
 * the docker CLI by each engine in turn, from nothing (the image and its layers removed before
 * every run). Both engines pull the same blobs from the same registry.
 */

const RUNS_FULL = 3;

async function buildAndPush(wharf: Engine, ref: string, layers: number, bytes: number, ctx: Ctx, deadline: Deadline): Promise<void> {
  let base = "busybox:latest";
  for (let i = 0; i < layers; i++) {
    deadline.check();
    const id = await createContainer(wharf, ["sh", "-c", `head -c ${bytes} /dev/urandom > /layer-${i}`], { Image: base });
    expectStatus(await wharf.api("POST", `/containers/${id}/start`), "start", 204);
    expectStatus(await wharf.api("POST", `/containers/${id}/wait`), "wait", 200);
    const tag = `layer${i}`;
    expectStatus(await wharf.api("POST", `/commit?container=${id}&repo=${encodeURIComponent(ref.split(":")[0])}&tag=${tag}`), "commit", 201);
    await wharf.api("DELETE", `/containers/${id}?force=1`);
    base = `${ref.split(":")[0]}:${tag}`;
  }
  const tagged = await wharf.docker(["tag", base, ref]);
  if (tagged.code !== 0) throw new Error(`tag: ${tagged.stderr}`);
  ctx.log(`pull: pushing ${ref} (${layers} layers of ${bytes / 1e6} MB) with wharf`);
  const pushed = await wharf.docker(["push", ref], { timeoutMs: deadline.remaining() });
  if (pushed.code !== 0) throw new Error(`push: ${pushed.stderr}`);
  // Remove every intermediate tag: each pull starts from busybox alone.
  for (let i = 0; i < layers; i++) await wharf.docker(["rmi", `${ref.split(":")[0]}:layer${i}`]);
}

async function pullOnce(e: Engine, ref: string, deadline: Deadline): Promise<number> {
  await e.docker(["rmi", "-f", ref]);
  await e.api("POST", "/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D");
  const t0 = now();
  const r = await e.docker(["pull", "-q", ref], { timeoutMs: deadline.remaining() });
  const ms = now() - t0;
  if (r.code !== 0) throw new Error(`${e.name} pull: ${r.stderr}`);
  return ms;
}

export const pull: Scenario = {
  name: "pull",
  budgetSeconds: (ctx) => (ctx.quick ? 240 : 900),
  async run(ctx: Ctx, deadline: Deadline) {
    const layers = ctx.quick ? 5 : 20;
    const bytes = ctx.quick ? 4_000_000 : 10_000_000;
    const registry = await startDistributionRegistry();
    const ref = `${registry.host}/bench/pull:1`;
    const times: Record<string, number[]> = {};
    try {
      await buildAndPush(ctx.wharf, ref, layers, bytes, ctx, deadline);
      const runs = ctx.quick ? 1 : RUNS_FULL;
      for (let i = 0; i < runs; i++) {
        for (const e of engines(ctx)) {
          ctx.log(`pull: ${e.name} run ${i + 1}/${runs}`);
          (times[e.name] ??= []).push(await pullOnce(e, ref, deadline));
        }
      }
    } finally {
      for (const e of engines(ctx)) {
        await e.docker(["rmi", "-f", ref]).catch(() => undefined);
        await removeBenchContainers(e);
      }
      await registry.stop();
    }
    const median = (name: string): number | null => (times[name]?.length ? stats(times[name]).median : null);
    const mb = (layers * bytes) / 1e6;
    const rows: Row[] = [{ scenario: `pull ${layers} layers, ${mb} MB, loopback registry`, unit: "ms", better: "lower", wharf: median("wharf"), docker: median("docker") }];
    return { rows, detail: { layers, layerBytes: bytes, times } };
  },
};
