import * as http from "node:http";
import { SystemError } from "../../lib/errors";
import type { PortMapping } from "./ports";

/**
 * Published ports in rootless mode: the container's ports are DNATed inside rootlesskit's
 * network namespace (the portmap plugin, as rootful), and rootlesskit's builtin port driver
 * listens on the host and forwards into that namespace. This talks to its HTTP API
 * (/v1/ports on $ROOTLESSKIT_STATE_DIR/api.sock). Forwards are found again by their host
 * address, so nothing needs remembering across a daemon restart.
 */
interface PortSpec {
  proto: string;
  parentIP: string;
  parentPort: number;
  childIP?: string;
  childPort: number;
}

interface PortStatus {
  id: number;
  spec: PortSpec;
}

const API_TIMEOUT_MS = 10_000;

export class RootlessKitPorts {
  constructor(private readonly apiSocket: string) {}

  /** Forwards every mapping's host address; on failure the ones already added are removed. */
  async publish(mappings: PortMapping[]): Promise<void> {
    const added: PortMapping[] = [];
    try {
      for (const m of mappings) {
        if (m.protocol === "sctp") continue; // the builtin driver forwards tcp and udp only
        // The child side dials the address portmap DNATs in the namespace: the same host address.
        const spec: PortSpec = { proto: m.protocol, parentIP: m.hostIP, parentPort: m.hostPort, childIP: m.hostIP === "0.0.0.0" ? "127.0.0.1" : m.hostIP, childPort: m.hostPort };
        await this.request("POST", "/v1/ports", spec).catch((err: unknown) => {
          // A host process holds the port: the words a rootful daemon uses for it.
          if (/address already in use/.test(String(err))) throw new SystemError(`failed to bind host port for ${m.hostIP}:${m.hostPort}:${m.containerPort}/${m.protocol}: address already in use`);
          throw err;
        });
        added.push(m);
      }
    } catch (err) {
      await this.unpublish(added).catch(() => undefined);
      throw err;
    }
  }

  /** Removes the forwards of these mappings (those that exist). */
  async unpublish(mappings: PortMapping[]): Promise<void> {
    if (!mappings.length) return;
    const current = JSON.parse(await this.request("GET", "/v1/ports")) as PortStatus[] | null;
    for (const status of current ?? []) {
      const s = status.spec;
      if (mappings.some((m) => m.protocol === s.proto && m.hostIP === s.parentIP && m.hostPort === s.parentPort)) {
        await this.request("DELETE", `/v1/ports/${status.id}`);
      }
    }
  }

  private request(method: string, urlPath: string, body?: unknown): Promise<string> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        { socketPath: this.apiSocket, method, path: urlPath, timeout: API_TIMEOUT_MS, headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {} },
        (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d.toString()));
          res.on("end", () => {
            if ((res.statusCode ?? 500) < 300) return resolve(text);
            let message = text.trim();
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {
              // not JSON: the text as it is
            }
            reject(new SystemError(`rootlesskit port driver: ${message || `status ${res.statusCode}`}`));
          });
        },
      );
      req.on("timeout", () => req.destroy(new SystemError(`rootlesskit port driver: ${method} ${urlPath} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }
}
