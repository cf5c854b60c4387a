import { InvalidParameterError } from "../../lib/errors";
import { fromHumanSize } from "../../lib/units";

/**
 * Docker's --log-driver / --log-opt for wharf. Every file driver name (our own `k8s-file`, and
 * Docker's `json-file` and `local`, accepted as aliases) is the same thing underneath: conmon's
 * k8s-file log, rotated by the daemon (engine/containers/log-rotator.ts). `none` keeps no log.
 * HostConfig.LogConfig keeps the name the client asked for, as Docker's inspect does.
 */
export interface LogSettings {
  /** Whether conmon writes a log file at all. */
  file: boolean;
  /** Bytes after which the file is rotated; undefined = never. */
  maxSize?: number;
  /** Files kept, the current one included (Docker's max-file, default 1). */
  maxFile: number;
}

/** The options each driver accepts, as Docker's drivers validate them. */
const DRIVER_OPTS: Record<string, string[]> = {
  "k8s-file": ["max-size", "max-file"],
  "json-file": ["max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"],
  local: ["max-file", "max-size", "compress"],
  none: [],
};

function initError(reason: string): InvalidParameterError {
  return new InvalidParameterError(`failed to initialize logging driver: ${reason}`);
}

/** Throws Docker's errors for an unknown driver, an unknown option or a bad value. */
export function logSettings(logConfig: { Type?: string | null; Config?: Record<string, string> | null } | undefined): LogSettings {
  const type = logConfig?.Type || "k8s-file";
  const config = logConfig?.Config ?? {};
  const accepted = DRIVER_OPTS[type];
  if (!accepted) throw new InvalidParameterError(`logger: no log driver named '${type}' is registered`);
  if (type === "none") return { file: false, maxFile: 1 }; // Docker does not validate options for none
  for (const key of Object.keys(config)) {
    if (!accepted.includes(key)) throw new InvalidParameterError(`unknown log opt '${key}' for ${type} log driver`);
  }
  let maxSize: number | undefined;
  if (config["max-size"] !== undefined) {
    try {
      maxSize = fromHumanSize(config["max-size"]); // decimal units, as json-file parses them
    } catch {
      throw initError(`invalid size: '${config["max-size"]}'`);
    }
    if (maxSize <= 0) throw initError("max-size must be a positive number");
  }
  let maxFile = 1;
  if (config["max-file"] !== undefined) {
    const raw = config["max-file"];
    if (!/^[+-]?\d+$/.test(raw)) throw initError(`strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
    maxFile = Number(raw);
    if (maxFile < 1) throw initError("max-file cannot be less than 1");
  }
  return { file: true, maxSize, maxFile };
}
