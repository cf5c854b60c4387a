import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as dnsPacket from "dns-packet";

/**
 * The embedded DNS server for user networks, as Docker's 127.0.0.11: containers on a user
 * network resolve each other by container name, alias and short id; other names are relayed
 * to the host's resolvers. One UDP socket per user network, bound to the network's gateway
 * address on its bridge (so daemons and networks never share a socket); containers' resolv.conf
 * names that address.
 */

/** Answers "which address does NAME have on this network", or undefined. */
export type NameLookup = (networkId: string, name: string) => string | undefined;

const TTL = 600;
const UPSTREAM_TIMEOUT_MS = 3000;

/** The host's resolvers (the daemon runs in the host's namespace, so loopback ones work too). */
function upstreams(resolvConf = "/etc/resolv.conf"): string[] {
  try {
    return fs
      .readFileSync(resolvConf, "utf8")
      .split("\n")
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((ns): ns is string => !!ns && !ns.includes(":"));
  } catch {
    return [];
  }
}

export class EmbeddedDns {
  private readonly sockets = new Map<string, dgram.Socket>();

  constructor(
    private readonly lookup: NameLookup,
    private readonly log: { warn(obj: object, msg?: string): void },
  ) {}

  /** Starts answering on `address`:53 for the network; idempotent. */
  async listen(networkId: string, address: string): Promise<void> {
    if (this.sockets.has(networkId)) return;
    const socket = dgram.createSocket("udp4");
    this.sockets.set(networkId, socket);
    socket.on("message", (msg, rinfo) => {
      this.answer(networkId, msg).then(
        (reply) => reply && socket.send(reply, rinfo.port, rinfo.address),
        (err: unknown) => this.log.warn({ networkId, err: String(err) }, "dns answer failed"),
      );
    });
    await new Promise<void>((resolve) => {
      socket.once("error", (err) => {
        this.log.warn({ networkId, address, err: err.message }, "embedded DNS could not listen");
        this.sockets.delete(networkId);
        resolve();
      });
      socket.bind({ address, port: 53, exclusive: true }, () => resolve());
    });
  }

  close(networkId: string): void {
    const socket = this.sockets.get(networkId);
    this.sockets.delete(networkId);
    socket?.close();
  }

  closeAll(): void {
    for (const id of [...this.sockets.keys()]) this.close(id);
  }

  private async answer(networkId: string, msg: Buffer): Promise<Buffer | undefined> {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined; // not DNS: no answer
    }
    const question = query.questions?.[0];
    if (!question) return undefined;
    const name = question.name.replace(/\.$/, "").toLowerCase();
    const address = this.lookup(networkId, name);
    if (address !== undefined) {
      const answers: dnsPacket.Answer[] = question.type === "A" ? [{ type: "A", name: question.name, ttl: TTL, class: "IN", data: address }] : [];
      return dnsPacket.encode({ type: "response", id: query.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER, questions: query.questions, answers });
    }
    return (await this.forward(msg)) ?? dnsPacket.encode({ type: "response", id: query.id, flags: dnsPacket.RECURSION_AVAILABLE | 2 /* SERVFAIL */, questions: query.questions });
  }

  /** Relays the query to the host's resolvers, first answer wins; undefined when none answers. */
  private async forward(msg: Buffer): Promise<Buffer | undefined> {
    for (const server of upstreams()) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const socket = dgram.createSocket("udp4");
        const timer = setTimeout(() => {
          socket.close();
          resolve(undefined);
        }, UPSTREAM_TIMEOUT_MS);
        socket.once("message", (data) => {
          clearTimeout(timer);
          socket.close();
          resolve(data);
        });
        socket.once("error", () => {
          clearTimeout(timer);
          socket.close();
          resolve(undefined);
        });
        socket.send(msg, 53, server);
      });
      if (reply) return reply;
    }
    return undefined;
  }
}
