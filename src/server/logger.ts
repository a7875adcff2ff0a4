// The logging interface the server uses; pino's loggers satisfy it. Having our own lets the CLI start
// listening before pino is loaded (pino costs ~20 ms of start-up).

export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
}

const noop: LogFn = () => {};

/** A logger that drops everything. */
export const nullLogger: Logger = { child: () => nullLogger, error: noop, warn: noop, info: noop, debug: noop };
