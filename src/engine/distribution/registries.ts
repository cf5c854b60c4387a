import type { LayerDigests } from "./layer-digests";
import { RegistryClient } from "./registry-client";
import type { RegistryCredentials } from "./auth";

/** Where docker.io's images really live. */
const DOCKER_HUB = "registry-1.docker.io";

/** Loopback registries may use plain HTTP without being named insecure (Docker's rule). */
function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** How the daemon reaches registries (its --insecure-registry list and CA directories). */
export interface RegistrySettings {
  insecureRegistries: string[];
  certsDirs: string[];
  /**
   * host[:port] that serves docker.io's images instead of Docker Hub. Unlike dockerd wharf does
   * not fall back to the Hub when the mirror fails: a machine told to use a mirror never
   * reaches for the Internet (tests rely on it).
   */
  mirror?: string;
}

/** What the image routes need to pull and push: the settings and the layer-blob memory. */
export interface Distribution extends RegistrySettings {
  layerDigests: LayerDigests;
}

/** The client for the registry a reference's domain names. */
export function registryClientFor(domain: string, opts: RegistrySettings & { credentials?: RegistryCredentials }): RegistryClient {
  const host = domain === "docker.io" ? (opts.mirror ?? DOCKER_HUB) : domain;
  const insecure = isLoopback(host) || opts.insecureRegistries.includes(host) || opts.insecureRegistries.includes(domain);
  return new RegistryClient({ host, insecure, credentials: opts.credentials, certsDirs: opts.certsDirs });
}

