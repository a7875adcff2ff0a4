// Resource alarms, as RabbitMQ raises them: memory use above the high watermark, or free disk space
// under the limit, blocks publishing connections until it passes.
import { statfsSync } from 'node:fs';
import { totalmem } from 'node:os';

export type Alarm = 'memory' | 'disk';

export interface AlarmLimits {
  /** RSS above this blocks publishers: a fraction of the machine's memory (≤ 1) or bytes (> 1). RabbitMQ's default is 0.4. */
  memoryHighWatermark: number;
  /** Free space on the data directory's disk below this (bytes) blocks publishers. RabbitMQ's default is 50 MB. */
  diskFreeLimit: number;
  alarmCheckIntervalMs: number;
}

export class ResourceMonitor {
  readonly active = new Set<Alarm>();
  /** Alarms set or cleared by hand (tests, operators), overriding what is measured. */
  private readonly forced = new Map<Alarm, boolean>();
  private readonly timer: NodeJS.Timeout;
  private readonly memoryLimit: number;

  constructor(
    private readonly limits: AlarmLimits,
    private readonly dataDir: string | undefined,
    private readonly onChange: (active: ReadonlySet<Alarm>) => void,
  ) {
    const w = limits.memoryHighWatermark;
    this.memoryLimit = w <= 1 ? w * totalmem() : w;
    this.timer = setInterval(() => this.check(), limits.alarmCheckIntervalMs);
    this.timer.unref();
  }

  /** Measures memory and disk, and reports when the set of alarms changes. */
  check(): void {
    const memory = this.forced.get('memory') ?? process.memoryUsage.rss() > this.memoryLimit;
    const disk = this.forced.get('disk') ?? (this.dataDir !== undefined && freeBytes(this.dataDir) < this.limits.diskFreeLimit);
    let changed = false;
    for (const [alarm, on] of [['memory', memory], ['disk', disk]] as const) {
      if (on === this.active.has(alarm)) continue;
      if (on) this.active.add(alarm);
      else this.active.delete(alarm);
      changed = true;
    }
    if (changed) this.onChange(this.active);
  }

  /** Sets (true) or clears (false) an alarm by hand; undefined goes back to measuring. */
  force(alarm: Alarm, on: boolean | undefined): void {
    if (on === undefined) this.forced.delete(alarm);
    else this.forced.set(alarm, on);
    this.check();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
