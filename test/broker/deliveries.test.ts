// A session's delivery tags behave like a Map from tag to delivery kept in tag order, under any mix of
// deliveries, acks (single, multiple, 0 for all), unknown tags and channel closes.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { Deliveries } from '../../src/broker/deliveries.js';
import type { QueuedMessage } from '../../src/broker/message.js';
import type { Queue } from '../../src/broker/queue.js';

const queue = {} as Queue;
const entry = {} as QueuedMessage;

/** What take/check do, or the reply text they fail with. */
function attempt<T>(run: () => T): T | string {
  try {
    return run();
  } catch (err) {
    return (err as Error).message;
  }
}

it('matches a tag-ordered map under random deliveries, acks, multiple acks and closes', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('track' as const), n: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('untracked' as const) }),
    fc.record({ kind: fc.constant('take' as const), back: fc.integer({ min: 0, max: 60 }), multiple: fc.boolean() }),
    fc.record({ kind: fc.constant('check' as const), back: fc.integer({ min: 0, max: 60 }), multiple: fc.boolean() }),
    fc.record({ kind: fc.constant('takeAll' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const d = new Deliveries();
      const model = new Map<number, number>(); // tag -> delivery time, in tag order
      const consumer = { unacked: 0 };
      let lastTag = 0;
      let now = 0;
      const modelUpTo = (tag: number) => [...model.keys()].filter((t) => tag === 0 || t <= tag);
      for (const o of ops) {
        if (o.kind === 'track') {
          for (let i = 0; i < o.n; i++) {
            lastTag = d.track(queue, entry, consumer, ++now);
            model.set(lastTag, now);
          }
        } else if (o.kind === 'untracked') lastTag = d.untracked();
        else if (o.kind === 'takeAll') {
          expect(d.takeAll().map((x) => x.tag)).toEqual([...model.keys()]);
          model.clear();
        } else {
          // a tag at or below the last one handed out (0 included: "all" when multiple)
          const tag = Math.max(0, lastTag - o.back);
          const expected = o.multiple ? modelUpTo(tag) : [tag];
          // as RabbitMQ's collect_acks: the tag itself must be outstanding, multiple or not (0 with multiple: all)
          const refused = !model.has(tag) && (tag !== 0 || !o.multiple) ? `PRECONDITION_FAILED - unknown delivery tag ${tag}` : undefined;
          if (o.kind === 'check') {
            expect(attempt(() => d.check(tag, o.multiple))).toBe(refused);
          } else {
            const got = attempt(() => d.take(tag, o.multiple).map((x) => x.tag));
            expect(got).toEqual(refused ?? expected);
            if (refused === undefined) for (const t of expected) model.delete(t);
          }
        }
        expect(d.size).toBe(model.size);
        expect(consumer.unacked).toBe(model.size);
        expect(d.oldest).toBe(model.values().next().value);
      }
    }),
  );
});

it('keeps memory to the unsettled deliveries when one old delivery is never acked', () => {
  const d = new Deliveries();
  const stuck = d.track(queue, entry, undefined, 0);
  for (let i = 0; i < 100_000; i++) d.take(d.track(queue, entry, undefined, i), false);
  expect(d.size).toBe(1);
  // the buffer is rebuilt once settled deliveries are most of it
  expect((d as unknown as { pending: { length: number } }).pending.length).toBeLessThan(2100);
  expect(d.take(stuck, false).map((x) => x.tag)).toEqual([stuck]);
});
