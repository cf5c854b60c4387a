import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Ctx, type Deadline, type Engine, type Row, type Scenario, engines, now, stats } from "./harness";

/**
 * Build: the same 15-step Dockerfile (RUNs, COPYs, ENV/LABEL/WORKDIR…) on busybox, built with
 * the classic builder through the docker CLI (DOCKER_BUILDKIT=0) against each engine: cold
 * (--no-cache) and then fully cached, median of RUNS each.
 */

const DOCKERFILE = `FROM busybox:latest
ENV APP=/app STAGE=bench
WORKDIR /app
COPY a.txt /app/a.txt
RUN echo one > /app/one && wc -c /app/a.txt
COPY dir /app/dir
RUN mkdir -p /app/data && for i in 1 2 3 4 5; do echo $i > /app/data/$i; done
ARG VERSION=1
LABEL version=$VERSION team=bench
RUN head -c 1000000 /dev/zero > /app/blob
EXPOSE 8080
USER 0
RUN ls -R /app > /app/listing
HEALTHCHECK --interval=30s CMD true
CMD ["sh", "-c", "cat /app/one"]
`;

function makeContext(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-bench-build-"));
  fs.writeFileSync(path.join(dir, "Dockerfile"), DOCKERFILE);
  fs.writeFileSync(path.join(dir, "a.txt"), "a".repeat(10_000));
  fs.mkdirSync(path.join(dir, "dir"));
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(dir, "dir", `f${i}`), `file ${i}\n`.repeat(100));
  return dir;
}

async function buildOnce(e: Engine, context: string, tag: string, noCache: boolean, deadline: Deadline): Promise<number> {
  const t0 = now();
  const r = await e.docker(["build", "-q", ...(noCache ? ["--no-cache"] : []), "-t", tag, context], { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: deadline.remaining() });
  const ms = now() - t0;
  if (r.code !== 0) throw new Error(`${e.name} build: ${r.stderr}`);
  return ms;
}

export const build: Scenario = {
  name: "build",
  budgetSeconds: (ctx) => (ctx.quick ? 240 : 600),
  async run(ctx: Ctx, deadline: Deadline) {
    const runs = ctx.quick ? 1 : 3;
    const context = makeContext();
    const cold: Record<string, number[]> = {};
    const cached: Record<string, number[]> = {};
    const tag = "wharf-bench/build:1";
    try {
      for (let i = 0; i < runs; i++) {
        for (const e of engines(ctx)) {
          ctx.log(`build: ${e.name} run ${i + 1}/${runs}`);
          (cold[e.name] ??= []).push(await buildOnce(e, context, tag, true, deadline));
          (cached[e.name] ??= []).push(await buildOnce(e, context, tag, false, deadline));
        }
      }
    } finally {
      fs.rmSync(context, { recursive: true, force: true });
      for (const e of engines(ctx)) await e.docker(["rmi", "-f", tag]).catch(() => undefined);
    }
    const median = (m: Record<string, number[]>, name: string): number | null => (m[name]?.length ? stats(m[name]).median : null);
    const rows: Row[] = [
      { scenario: "build 15 steps, cold (--no-cache)", unit: "ms", better: "lower", wharf: median(cold, "wharf"), docker: median(cold, "docker") },
      { scenario: "build 15 steps, fully cached", unit: "ms", better: "lower", wharf: median(cached, "wharf"), docker: median(cached, "docker") },
    ];
    return { rows, detail: { runs, cold, cached } };
  },
};
