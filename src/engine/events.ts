import { EventEmitter } from "node:events";

/** One event in Docker's /events shape. */
export interface EngineEvent {
  Type: "container" | "image" | "network" | "volume" | "daemon";
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  time: number;
  timeNano: number;
  /** Deprecated top-level fields Docker still sends for container and image events. */
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY_LIMIT = 1024;

/**
 * The daemon's event stream: every engine action is published here, kept in a bounded
 * history (so `events --since` can read back), and fanned out to live subscribers.
 */
export class EventLog {
  private readonly history: EngineEvent[] = [];
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(type: EngineEvent["Type"], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const nowNs = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    const event: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: "local",
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === "container" || type === "image") {
      event.status = action;
      event.id = id;
      if (attributes.image) event.from = attributes.image;
    }
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    this.emitter.emit("event", event);
    return event;
  }

  /** Events already recorded with sinceNs <= timeNano <= untilNs. */
  past(sinceNs: number, untilNs: number): EngineEvent[] {
    return this.history.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.emitter.on("event", listener);
    return () => this.emitter.off("event", listener);
  }
}

const FILTER_KEYS = ["type", "event", "container", "image", "label", "network", "volume", "daemon", "scope"];

/** Docker's event filters: values within a key OR, keys AND. Throws on an unknown key. */
export function eventFilter(filters: Map<string, string[]>): (event: EngineEvent) => boolean {
  for (const key of filters.keys()) {
    if (!FILTER_KEYS.includes(key)) throw new Error(`invalid filter '${key}'`);
  }
  const any = (key: string, test: (value: string) => boolean): boolean => {
    const values = filters.get(key);
    return !values || values.length === 0 || values.some(test);
  };
  return (e) => {
    const attrs = e.Actor.Attributes;
    const idOrName = (v: string): boolean => e.Actor.ID.startsWith(v) || attrs.name === v;
    return (
      any("type", (v) => e.Type === v) &&
      any("event", (v) => e.Action === v || e.Action.startsWith(`${v}:`)) &&
      any("container", (v) => e.Type === "container" && idOrName(v)) &&
      any("image", (v) => (e.Type === "image" && idOrName(v)) || attrs.image === v) &&
      any("network", (v) => e.Type === "network" && idOrName(v)) &&
      any("volume", (v) => e.Type === "volume" && idOrName(v)) &&
      any("scope", (v) => v === "local") &&
      (filters.get("label") ?? []).every((label) => {
        const eq = label.indexOf("=");
        return eq < 0 ? label in attrs : attrs[label.slice(0, eq)] === label.slice(eq + 1);
      })
    );
  };
}
