// The one place Warren reads the time and sets timers. Everything else (TTLs, x-expires, consumer and
// handshake timeouts, heartbeats, alarm checks, fsync rounds) asks a Clock handed down from
// startBroker() or the CLI, so a test can swap in a ManualClock and move time by hand.

/** A pending timer, as returned by `after` and `every`: pass it to `cancel`. */
export type Timer = object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): Timer;
  /** Calls `fn` every `ms`. */
  every(ms: number, fn: () => void): Timer;
  /** Stops a timer; undefined and already-fired timers are fine. */
  cancel(timer: Timer | undefined): void;
}

/**
 * The machine's clock. Its timers never keep the process alive by themselves: a broker embedded in a
 * test runner must not hold the runner open.
 */
export const realClock: Clock = {
  now: () => Date.now(),
  after: (ms, fn) => setTimeout(fn, ms).unref(),
  every: (ms, fn) => setInterval(fn, ms).unref(),
  cancel: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

interface ManualTimer {
  due: number;
  /** 0 for a one-off timer. */
  readonly period: number;
  readonly fn: () => void;
  /** Tie-breaker: timers due at the same moment fire in the order they were set. */
  readonly order: number;
  cancelled: boolean;
}

/**
 * A clock whose time moves only when told. Timers fire inside `advance`, in due order, each seeing
 * `now()` at its own due time; timers set by a firing timer fire in the same call when they fall due.
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly timers: ManualTimer[] = [];
  private nextOrder = 0;

  /** Starts at `start` (the real time now by default, so timestamps look like timestamps). */
  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): Timer {
    return this.add(ms, 0, fn);
  }

  every(ms: number, fn: () => void): Timer {
    return this.add(ms, Math.max(1, ms), fn);
  }

  cancel(timer: Timer | undefined): void {
    const t = timer as ManualTimer | undefined;
    if (t === undefined || t.cancelled) return;
    t.cancelled = true;
    const i = this.timers.indexOf(t);
    if (i >= 0) this.timers.splice(i, 1);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot move a clock by ${ms} ms`);
    const target = this.time + ms;
    for (let t = this.timers[0]; t !== undefined && t.due <= target; t = this.timers[0]) {
      this.timers.shift();
      this.time = Math.max(this.time, t.due);
      if (t.period > 0) {
        t.due += t.period;
        this.insert(t);
      } else t.cancelled = true;
      t.fn();
    }
    this.time = target;
  }

  /** Moves time to the next timer and fires it (and any due with it); false when none is set. */
  next(): boolean {
    const t = this.timers[0];
    if (t === undefined) return false;
    this.advance(Math.max(0, t.due - this.time));
    return true;
  }

  /**
   * Moves time on until no one-off timer is left (TTLs, x-expires, delayed redelivery…), firing the
   * periodic ones that fall due on the way; returns the ms it moved. A chain of one-off timers that
   * never ends stops it after `maxTimers`.
   */
  runAll(maxTimers = 100_000): number {
    const from = this.time;
    for (let fired = 0; ; fired++) {
      const next = this.timers.find((t) => t.period === 0);
      if (next === undefined) return this.time - from;
      if (fired >= maxTimers) throw new Error(`runAll: still one-off timers after ${maxTimers} fired (a timer that keeps setting another?)`);
      this.advance(Math.max(0, next.due - this.time));
    }
  }

  private add(ms: number, period: number, fn: () => void): ManualTimer {
    const t: ManualTimer = { due: this.time + Math.max(0, ms), period, fn, order: this.nextOrder++, cancelled: false };
    this.insert(t);
    return t;
  }

  private insert(t: ManualTimer): void {
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1].due > t.due || (this.timers[i - 1].due === t.due && this.timers[i - 1].order > t.order))) i--;
    this.timers.splice(i, 0, t);
  }
}

/**
 * Elapsed wall time for reports of how long work took (recovery, start-up). It is not behaviour, so
 * it stays on the real monotonic clock even when the broker runs on a manual one.
 */
export function stopwatch(): () => number {
  const started = performance.now();
  return () => Math.round(performance.now() - started);
}
