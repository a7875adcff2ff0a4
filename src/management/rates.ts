// Rates as RabbitMQ's management API reports them (rates_mode basic): the change per second of a
// counter over the last collection interval, sampled every 5 seconds. Counts are read live at each
// request; only the rates lag, as RabbitMQ's do. Sampling runs on the broker's clock, so a manual
// clock drives it too.
import type { Clock, Timer } from '../broker/clock.js';

/** RabbitMQ's collect_statistics_interval. */
export const SAMPLE_INTERVAL_MS = 5000;

interface Sample {
  at: number;
  values: Readonly<Record<string, number>>;
}

interface History {
  previous: Sample | undefined;
  last: Sample;
  /** When the sampled values last stood still through a whole interval, while they still do. */
  idleSince: number | undefined;
}

export class Rates {
  private readonly history = new WeakMap<object, History>();
  private readonly timer: Timer;

  /** `sources` lists every entity with the values to sample, at each tick. */
  constructor(
    private readonly clock: Clock,
    private readonly sources: () => Iterable<[object, Record<string, number>]>,
  ) {
    this.timer = clock.every(SAMPLE_INTERVAL_MS, () => this.sample());
  }

  private sample(): void {
    const at = this.clock.now();
    for (const [entity, values] of this.sources()) {
      const h = this.history.get(entity);
      if (h === undefined) {
        this.history.set(entity, { previous: undefined, last: { at, values }, idleSince: undefined });
        continue;
      }
      const moved = Object.keys(values).some((k) => values[k] !== h.last.values[k]);
      if (moved) h.idleSince = undefined;
      else h.idleSince ??= h.last.at;
      h.previous = h.last;
      h.last = { at, values };
    }
  }

  /** Per second over the last interval; 0 until two samples exist. */
  rate(entity: object, key: string): number {
    const h = this.history.get(entity);
    if (h?.previous === undefined) return 0;
    const dt = (h.last.at - h.previous.at) / 1000;
    return dt > 0 ? ((h.last.values[key] ?? 0) - (h.previous.values[key] ?? 0)) / dt : 0;
  }

  /** When the entity was last seen active, if it has been idle since (to the sampling interval). */
  idleSince(entity: object): number | undefined {
    return this.history.get(entity)?.idleSince;
  }

  stop(): void {
    this.clock.cancel(this.timer);
  }
}
