// The ring-buffer deque behaves like an array used as a double-ended queue (indexing included), through every growth.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { Deque } from '../../src/broker/deque.js';

it('matches an array model under random push, unshift, shift and clear', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('push' as const), v: fc.integer() }),
    fc.record({ kind: fc.constant('unshift' as const), v: fc.integer() }),
    fc.record({ kind: fc.constant('shift' as const) }),
    fc.record({ kind: fc.constant('clear' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const d = new Deque<number>(2);
      const model: number[] = [];
      for (const o of ops) {
        if (o.kind === 'push') (d.push(o.v), model.push(o.v));
        else if (o.kind === 'unshift') (d.unshift(o.v), model.unshift(o.v));
        else if (o.kind === 'shift') expect(d.shift()).toBe(model.shift());
        else (d.clear(), (model.length = 0));
        expect(d.length).toBe(model.length);
        expect(d.peek()).toBe(model[0]);
        for (const i of [0, model.length >> 1, model.length - 1, model.length, -1]) expect(d.get(i)).toBe(i < 0 ? undefined : model[i]);
      }
    }),
  );
});
