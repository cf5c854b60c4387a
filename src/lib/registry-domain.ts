/**
 * The registry domain a login or server address names: it may carry a scheme and a path
 * ("https://index.docker.io/v1/"); Docker Hub's many names all mean docker.io.
 */
export function registryDomain(serverAddress: string | undefined): string {
  const host = (serverAddress ?? "").replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
  if (host === "" || host === "index.docker.io" || host === "registry-1.docker.io" || host === "docker.io") return "docker.io";
  return host;
}
