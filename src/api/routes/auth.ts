import { z } from "zod";
import { registryClientFor, type RegistrySettings } from "../../engine/distribution/registries";
import { registryDomain } from "../../lib/registry-domain";
import { type Router, readJson, sendJson } from "../router";

const authSchema = z
  .object({
    username: z.string().nullish(),
    password: z.string().nullish(),
    serveraddress: z.string().nullish(),
    identitytoken: z.string().nullish(),
  })
  .passthrough();

/**
 * POST /auth (docker login): the daemon checks the credentials against the registry and
 * keeps nothing — the client stores them and sends them with each pull.
 */
export function registerAuthRoutes(router: Router, registries: RegistrySettings): void {
  router.post("/auth", async ({ req, res }) => {
    const body = await readJson(req, authSchema);
    const client = registryClientFor(registryDomain(body.serveraddress ?? undefined), {
      ...registries,
      credentials: { username: body.username ?? undefined, password: body.password ?? undefined, identityToken: body.identitytoken ?? undefined },
    });
    await client.login();
    sendJson(res, 200, { Status: "Login Succeeded", IdentityToken: "" });
  });
}
