/**
 * The logging the runtime needs. Shaped like pino's `(fields, message)` calls so the daemon can
 * pass its pino logger directly; the default drops everything.
 */
export interface RuntimeLogger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

const noop = (): void => undefined;

export const silentLogger: RuntimeLogger = { debug: noop, info: noop, warn: noop, error: noop };
