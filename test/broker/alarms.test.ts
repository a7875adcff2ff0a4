// The disk alarm measures free space on a timer and by bytes written, so a fast publisher is blocked
// before the disk fills; a failed write raises it until a measurement finds room.
import { describe, expect, it } from 'vitest';
import { ResourceMonitor, type Alarm } from '../../src/broker/alarms.js';
import { ManualClock } from '../../src/broker/clock.js';
import { nullLogger } from '../../src/broker/logger.js';

const MB = 1 << 20;

function monitor(free: () => number) {
  const clock = new ManualClock(0);
  let measured = 0;
  const changes: Alarm[][] = [];
  const m = new ResourceMonitor({ memoryHighWatermark: Infinity, diskFreeLimit: 50 * MB, alarmCheckIntervalMs: 1000 }, '/data', clock, nullLogger, () => {
    measured++;
    return free();
  });
  m.onChange((active) => changes.push([...active]));
  return { m, clock, changes, measured: () => measured };
}

describe('disk alarm', () => {
  it('measures again once the bytes written could have used half the room left above the limit', () => {
    let free = 150 * MB;
    const { m, measured } = monitor(() => free);
    m.check(); // 100 MB above the limit: the next measurement after 50 MB of writes
    expect(measured()).toBe(1);
    // the disk loses what is written as it is written
    const write = (bytes: number) => {
      free -= bytes;
      m.written(bytes);
    };
    write(30 * MB);
    expect(measured()).toBe(1);
    write(25 * MB);
    expect(measured()).toBe(2); // 45 MB above now: again after 22.5 MB
    write(22 * MB);
    expect(measured()).toBe(2);
    write(1 * MB);
    expect(measured()).toBe(3);
  });

  it('raises the alarm from writes alone, before the next timed check', () => {
    let free = 60 * MB;
    const { m, changes } = monitor(() => free);
    m.check();
    for (let i = 0; i < 20 && changes.length === 0; i++) {
      free -= MB;
      m.written(MB);
    }
    expect(changes).toEqual([['disk']]);
    expect(free).toBeGreaterThan(40 * MB);
  });

  it('raises the alarm on a failed write, and clears it at the next check that finds room', () => {
    const { m, clock, changes } = monitor(() => 500 * MB);
    m.check();
    m.writeFailure();
    expect([...m.active]).toEqual(['disk']);
    clock.advance(1000);
    expect(changes).toEqual([['disk'], []]);
  });

  it('keeps the alarm after a failed write while there is no room', () => {
    const { m, clock } = monitor(() => 10 * MB);
    m.writeFailure();
    clock.advance(5000);
    expect([...m.active]).toEqual(['disk']);
  });
});
