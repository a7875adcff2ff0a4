// The manual clock: time moves only when told, and timers fire in due order, each at its own time.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/broker/clock.js';

describe('ManualClock', () => {
  it('moves only when advanced, and fires each timer once at its due time', () => {
    const clock = new ManualClock(1000);
    const fired: [string, number][] = [];
    clock.after(50, () => fired.push(['a', clock.now()]));
    clock.after(20, () => fired.push(['b', clock.now()]));
    expect(clock.now()).toBe(1000);
    clock.advance(19);
    expect(fired).toEqual([]);
    clock.advance(31);
    expect(fired).toEqual([
      ['b', 1020],
      ['a', 1050],
    ]);
    expect(clock.now()).toBe(1050);
    clock.advance(1000);
    expect(fired).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('repeats an interval timer and stops it when cancelled', () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const timer = clock.every(10, () => ticks.push(clock.now()));
    clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    clock.cancel(timer);
    clock.advance(100);
    expect(ticks).toEqual([10, 20, 30]);
  });

  it('fires timers set by a firing timer within the same advance when they fall due', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.after(10, () => clock.after(5, () => fired.push(clock.now())));
    clock.advance(20);
    expect(fired).toEqual([15]);
  });

  it('fires timers due at the same moment in the order they were set', () => {
    const clock = new ManualClock(0);
    const order: string[] = [];
    for (const name of ['first', 'second', 'third']) clock.after(5, () => order.push(name));
    clock.advance(5);
    expect(order).toEqual(['first', 'second', 'third']);
  });

  it('jumps to the next timer with next(), and says when none is left', () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.after(30000, () => (fired = true));
    expect(clock.next()).toBe(true);
    expect([fired, clock.now()]).toEqual([true, 30000]);
    expect(clock.next()).toBe(false);
  });

  it('runs every one-off timer with runAll(), periodic ones firing on the way, and stops a chain that never ends', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.every(1000, () => fired.push(`tick ${clock.now()}`));
    clock.after(1500, () => {
      fired.push('ttl');
      clock.after(1000, () => fired.push('redelivery'));
    });
    expect(clock.runAll()).toBe(2500);
    expect(fired).toEqual(['tick 1000', 'ttl', 'tick 2000', 'redelivery']);
    expect(clock.pending).toBe(1);
    const forever = () => void clock.after(1, forever);
    forever();
    expect(() => clock.runAll(50)).toThrow(/still one-off timers after 50 fired/);
  });

  it('refuses to move backwards', () => {
    expect(() => new ManualClock(0).advance(-1)).toThrow(RangeError);
  });
});
