// Resource alarms, as RabbitMQ raises them: memory use above the high watermark, or free disk space
// under the limit, blocks publishing connections until it passes. A store that fails to write raises
// the disk alarm too, until a check finds the disk writable again.
import { statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Clock, Timer } from './clock.js';
import type { Logger } from './logger.js';

export type Alarm = 'memory' | 'disk';

export interface AlarmLimits {
  /** RSS above this blocks publishers: a fraction of the machine's memory (≤ 1) or bytes (> 1). RabbitMQ's default is 0.4. */
  memoryHighWatermark: number;
  /** Free space on the data directory's disk below this (bytes) blocks publishers. RabbitMQ's default is 50 MB. */
  diskFreeLimit: number;
  alarmCheckIntervalMs: number;
}

/** RabbitMQ's defaults. */
export const DEFAULT_ALARM_LIMITS: Readonly<AlarmLimits> = { memoryHighWatermark: 0.4, diskFreeLimit: 50_000_000, alarmCheckIntervalMs: 1000 };

export type AlarmListener = (active: ReadonlySet<Alarm>) => void;

export class ResourceMonitor {
  readonly active = new Set<Alarm>();
  /** Alarms set or cleared by hand (tests, operators), overriding what is measured. */
  private readonly forced = new Map<Alarm, boolean>();
  private readonly listeners: AlarmListener[] = [];
  private readonly timer: Timer;
  /** RSS above which the memory alarm is raised (bytes). */
  readonly memoryLimit: number;
  /** A write failed: the next check raises the disk alarm whatever it measures. */
  private writeFailed = false;
  /** Bytes the store may write before free space is measured again (see `written`). */
  private writeBudget = 0;

  constructor(
    readonly limits: AlarmLimits,
    private readonly dataDir: string | undefined,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Free bytes on the disk holding `dir` (statfs; replaced in tests). */
    private readonly freeBytes: (dir: string) => number = statfsFree,
  ) {
    const w = limits.memoryHighWatermark;
    this.memoryLimit = w <= 1 ? w * totalmem() : w;
    this.timer = clock.every(limits.alarmCheckIntervalMs, () => this.check());
  }

  /** Called with the set of active alarms whenever it changes. */
  onChange(listener: AlarmListener): void {
    this.listeners.push(listener);
  }

  /** Measures memory and disk, and reports when the set of alarms changes. */
  check(): void {
    const memory = this.forced.get('memory') ?? process.memoryUsage.rss() > this.memoryLimit;
    const disk = this.forced.get('disk') ?? this.diskLow();
    let changed = false;
    for (const [alarm, on] of [['memory', memory], ['disk', disk]] as const) {
      if (on === this.active.has(alarm)) continue;
      if (on) this.active.add(alarm);
      else this.active.delete(alarm);
      changed = true;
    }
    if (!changed) return;
    if (this.active.size > 0) this.logger.warn({ alarms: [...this.active] }, 'resource alarm: publishers are blocked');
    else this.logger.info('resource alarms cleared: publishers resume');
    for (const l of this.listeners) l(this.active);
  }

  /**
   * The store handed `bytes` to the disk. Free space is measured again once the writes since the last
   * measurement could have used half the room left above the limit, so a fast publisher is blocked
   * before the disk fills, however short the check interval.
   */
  written(bytes: number): void {
    if (this.dataDir === undefined) return;
    this.writeBudget -= bytes;
    if (this.writeBudget <= 0) this.check();
  }

  /** A write to the data directory failed: publishers are blocked at once, until a later check finds room. */
  writeFailure(): void {
    this.writeFailed = true;
    this.check();
  }

  private diskLow(): boolean {
    if (this.dataDir === undefined) return false;
    if (this.writeFailed) {
      // raised now; the next check measures again
      this.writeFailed = false;
      this.writeBudget = 0;
      return true;
    }
    let free: number;
    try {
      free = this.freeBytes(this.dataDir);
    } catch (err) {
      this.logger.error({ err, dataDir: this.dataDir }, 'cannot measure free disk space: the disk alarm is raised');
      return true;
    }
    const headroom = free - this.limits.diskFreeLimit;
    this.writeBudget = Math.max(0, headroom / 2);
    return headroom < 0;
  }

  /** Free bytes on the data directory's disk now (0 without a data directory or when it cannot be measured). */
  diskFree(): number {
    if (this.dataDir === undefined) return 0;
    try {
      return this.freeBytes(this.dataDir);
    } catch {
      return 0;
    }
  }

  /** Sets (true) or clears (false) an alarm by hand; undefined goes back to measuring. */
  force(alarm: Alarm, on: boolean | undefined): void {
    if (on === undefined) this.forced.delete(alarm);
    else this.forced.set(alarm, on);
    this.check();
  }

  stop(): void {
    this.clock.cancel(this.timer);
  }
}

function statfsFree(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
