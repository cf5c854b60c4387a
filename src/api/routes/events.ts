import { type EngineEvent, type EventLog, eventFilter } from "../../engine/events";
import { InvalidParameterError, errorMessage } from "../../lib/errors";
import { filtersParam, onClientGone, type Router } from "../router";

/** since/until as Docker sends them: unix seconds with an optional fraction ("1700000000.5"). */
function nanos(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === "") return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new InvalidParameterError(`invalid value for "${name}": ${raw}`);
  const [secs, frac = ""] = raw.split(".");
  return Number(secs) * 1e9 + Number((frac + "000000000").slice(0, 9));
}

/** GET /events: past events from the bounded history, then live ones until `until` or the client leaves. */
export function registerEventRoutes(router: Router, log: EventLog): void {
  router.get("/events", async ({ req, res, query }) => {
    let matches: (event: EngineEvent) => boolean;
    try {
      matches = eventFilter(filtersParam(query));
    } catch (err) {
      throw new InvalidParameterError(errorMessage(err));
    }
    const since = nanos(query, "since");
    const until = nanos(query, "until");
    const nowNs = Date.now() * 1e6;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    const send = (event: EngineEvent): void => {
      if (matches(event)) res.write(JSON.stringify(event) + "\n");
    };
    if (since !== undefined) for (const event of log.past(since, until ?? nowNs)) send(event);
    if (until !== undefined && until <= nowNs) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsubscribe = log.subscribe((event) => {
        if (until !== undefined && event.timeNano > until) return;
        send(event);
      });
      const finish = (): void => {
        unsubscribe();
        clearTimeout(timer);
        resolve();
      };
      const timer = until !== undefined ? setTimeout(finish, Math.max(0, (until - nowNs) / 1e6)) : undefined;
      onClientGone(res, finish);
    });
    if (!res.writableEnded) res.end();
  });
}
