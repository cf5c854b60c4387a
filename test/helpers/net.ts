import * as http from "node:http";
import * as net from "node:net";

/** GET http://HOST:port/ with a bounded wait (the server in the container may still be starting). */
export async function fetchLocal(port: number, host = "127.0.0.1"): Promise<string> {
  const deadline = Date.now() + 10_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = http.get({ host, port, path: "/", timeout: 2000 }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve(body));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
      });
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no answer on ${host}:${port}: ${String(last)}`);
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
