import { BuildError, type BuildMessage, type Builder } from "../../engine/build/builder";
import { decodeRegistryConfig } from "../../engine/build/registry-config";
import { decodeBuildSecrets, SECRETS_HEADER } from "../../lib/build-secrets";
import { InvalidParameterError, errorMessage } from "../../lib/errors";
import { boolParam, JsonStream, requestBody, type Router } from "../router";

/**
 * POST /build: the classic builder protocol. The body is the context as a tar (plain or gzip),
 * options are query parameters, the answer a stream of JSON messages (`stream`, `aux`, and
 * `errorDetail` for a failure once the stream has started; an error before the first message
 * is an HTTP error, as in Docker).
 */
export function registerBuildRoutes(router: Router, builder: Builder): void {
  router.post("/build", async (ctx) => {
    const q = ctx.query;
    let stream: JsonStream | undefined;
    const out = (m: BuildMessage): void => {
      stream ??= new JsonStream(ctx.res);
      stream.write(m as unknown as Record<string, unknown>);
    };
    const abort = new AbortController();
    const onClose = (): void => {
      if (!ctx.res.writableFinished) abort.abort();
    };
    ctx.res.once("close", onClose);
    ctx.req.socket.once("close", onClose);
    try {
      if (q.get("remote")) throw new InvalidParameterError("building from a remote context is not supported yet: send the context as the request body");
      if (q.get("version") === "2") throw new InvalidParameterError("BuildKit (version=2) is not supported; use the classic builder (DOCKER_BUILDKIT=0)");
      let secrets: Map<string, Buffer>;
      try {
        secrets = decodeBuildSecrets(ctx.req.headers[SECRETS_HEADER]);
      } catch (err) {
        throw new InvalidParameterError(errorMessage(err));
      }
      const opts = {
        secrets,
        registryAuth: decodeRegistryConfig(ctx.req.headers["x-registry-config"]),
        dockerfile: q.get("dockerfile") || "Dockerfile",
        tags: q.getAll("t").filter((t) => t !== ""),
        buildArgs: jsonMap<string | null>(q.get("buildargs"), "buildargs"),
        labels: jsonMap<string>(q.get("labels"), "labels"),
        target: q.get("target") || undefined,
        noCache: boolParam(q, "nocache"),
        quiet: boolParam(q, "q"),
        networkMode: q.get("networkmode") || "default",
        pull: boolParam(q, "pull"),
        signal: abort.signal,
      };
      await builder.buildFromTar(requestBody(ctx.req), opts, out);
    } catch (err) {
      if (!ctx.req.readableEnded) ctx.req.resume();
      if (!stream) throw err;
      const message = errorMessage(err);
      const code = err instanceof BuildError ? err.code : undefined;
      stream.write({ errorDetail: code !== undefined ? { code, message } : { message }, error: message });
    }
    stream?.end();
    ctx.req.socket.off("close", onClose);
  });
}

function jsonMap<T>(raw: string | null, name: string): Record<string, T> {
  if (!raw) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InvalidParameterError(`invalid ${name}: ${errorMessage(err)}`);
  }
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new InvalidParameterError(`invalid ${name}: not a JSON object`);
  return value as Record<string, T>;
}

