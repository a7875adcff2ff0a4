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

type Level = 'error' | 'warn' | 'info' | 'debug';

/** `parent`'s lines with `bindings` added to each. */
function bound(parent: Logger, bindings: Record<string, unknown>): Logger {
  const at =
    (level: Level): LogFn =>
    (objOrMsg: object | string, msg?: string) =>
      typeof objOrMsg === 'string' ? parent[level]({ ...bindings }, objOrMsg) : parent[level]({ ...bindings, ...objOrMsg }, msg);
  return { child: (more) => bound(parent, { ...bindings, ...more }), error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/**
 * Keeps what is logged until the real logger is ready, then hands it over and forwards from then on
 * (the CLI recovers the data directory before pino has loaded).
 */
export class BufferedLogger implements Logger {
  private target: Logger | undefined;
  private readonly held: [Level, unknown[]][] = [];

  private log(level: Level, args: unknown[]): void {
    if (this.target) (this.target[level] as (...a: unknown[]) => void)(...args);
    else this.held.push([level, args]);
  }

  readonly error: LogFn = (...args: unknown[]) => this.log('error', args);
  readonly warn: LogFn = (...args: unknown[]) => this.log('warn', args);
  readonly info: LogFn = (...args: unknown[]) => this.log('info', args);
  readonly debug: LogFn = (...args: unknown[]) => this.log('debug', args);

  /** Before the real logger is there, a child adds its bindings to each line and is held like the rest. */
  child(bindings: Record<string, unknown>): Logger {
    return this.target ? this.target.child(bindings) : bound(this, bindings);
  }

  forwardTo(target: Logger): void {
    this.target = target;
    for (const [level, args] of this.held.splice(0)) (target[level] as (...a: unknown[]) => void)(...args);
  }
}
