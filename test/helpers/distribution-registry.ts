import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./net";

/**
 * A reference registry on loopback for pull tests: Debian's docker-registry (the CNCF
 * distribution registry), optionally behind htpasswd basic auth, with its own storage dir.
 * Images go in with skopeo, an independent tool, so wharf is not only talking to itself.
 */
export interface DistributionRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  storage: string;
  /** Path of a blob's data file in the registry's storage (to damage it on purpose). */
  blobFile(digest: string): string;
  /** skopeo copy SRC docker://HOST/NAME (format "v2s2" or "oci"). */
  push(source: string, name: string, format?: "v2s2" | "oci"): void;
  /** skopeo copy SRC docker://HOST/NAME keeping the source's format. */
  pushRaw(source: string, name: string): void;
  stop(): Promise<void>;
}

/** Bearer-token auth: the registry trusts tokens signed by the key of `rootCertBundle`'s certificate. */
export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

export async function startDistributionRegistry(opts: { user?: string; password?: string; token?: TokenAuthConfig } = {}): Promise<DistributionRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wharf-test-registry-"));
  const storage = path.join(dir, "storage");
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = "";
  if (opts.user) {
    const htpasswd = path.join(dir, "htpasswd");
    fs.writeFileSync(htpasswd, execFileSync("htpasswd", ["-Bbn", opts.user, opts.password ?? ""]));
    auth = `auth:\n  htpasswd:\n    realm: wharf-test\n    path: ${htpasswd}\n`;
  }
  if (opts.token) {
    const t = opts.token;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundle}\n`;
  }
  const config = path.join(dir, "config.yml");
  fs.writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n  secret: wharf-test\n${auth}`,
  );
  const child: ChildProcess = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const creds = opts.user ? ["--dest-creds", `${opts.user}:${opts.password ?? ""}`] : [];
  return {
    host,
    storage,
    blobFile: (digest) => {
      const hex = digest.replace(/^sha256:/, "");
      return path.join(storage, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
    },
    push: (source, name, format = "v2s2") => {
      execFileSync("skopeo", ["copy", "--quiet", "--format", format, "--dest-tls-verify=false", ...creds, source, `docker://${host}/${name}`], { timeout: 60_000 });
    },
    pushRaw: (source, name) => {
      execFileSync("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", ...creds, source, `docker://${host}/${name}`], { timeout: 60_000 });
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
