// The behaviour every store must have, run against each implementation (file and memory).
import { describe, expect, it } from 'vitest';
import { Message, contentHeaderOf } from '../../src/broker/message.js';
import type { MessageStore, SyncListener } from '../../src/broker/store.js';

export interface StoreFactory {
  /** A fresh, empty store. */
  create(): MessageStore;
  /** The same storage opened again, as after a restart (the old store is closed first). */
  reopen(store: MessageStore): MessageStore;
}

export function message(text: string, persistent = true): Message {
  const body = Buffer.from(text);
  return new Message('ex', 'rk', contentHeaderOf({ deliveryMode: persistent ? 2 : 1 }, body.length), body);
}

const bodies = (store: MessageStore, queue: string) => store.queueLog('/', queue).read(Infinity, Infinity).map((m) => m.message.body.toString());

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`${name}: the shared store behaviour`, () => {
    it('gives back the persistent messages of a queue in order after a restart, with their routing data', () => {
      let store = factory.create();
      const log = store.queueLog('/', 'q');
      for (let i = 0; i < 5; i++) log.append(message(`m${i}`), i === 2 ? 1234 : 0, true);
      store = factory.reopen(store);
      const read = store.queueLog('/', 'q').read(Infinity, Infinity);
      expect(read.map((m) => m.message.body.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect(read[0].message.exchange).toBe('ex');
      expect(read[0].message.routingKey).toBe('rk');
      expect(read[0].message.persistent).toBe(true);
      expect(read.map((m) => m.expiresAt)).toEqual([0, 0, 1234, 0, 0]);
      expect(read.every((m) => !m.redelivered)).toBe(true);
      store.close();
    });

    it('never gives back a removed message, and marks delivered ones redelivered', () => {
      let store = factory.create();
      const log = store.queueLog('/', 'q');
      const refs = [0, 1, 2, 3].map((i) => log.append(message(`m${i}`), 0, true));
      log.remove(refs[0]);
      log.delivered(refs[1]);
      log.delivered(refs[2]);
      log.remove(refs[2]);
      store = factory.reopen(store);
      const read = store.queueLog('/', 'q').read(Infinity, Infinity);
      expect(read.map((m) => [m.message.body.toString(), m.redelivered])).toEqual([
        ['m1', true],
        ['m3', false],
      ]);
      store.close();
    });

    it('reads unread messages back in order, counting them, and drops transient ones at a restart', () => {
      let store = factory.create();
      const log = store.queueLog('/', 'q');
      log.append(message('kept'), 0, true);
      log.appendUnread(message('p1'), 0, true);
      log.appendUnread(message('t1', false), 0, false);
      log.appendUnread(message('p2'), 0, true);
      expect(log.unread).toBe(3);
      expect(log.unreadBytes).toBe(6);
      expect(log.read(2, Infinity).map((m) => m.message.body.toString())).toEqual(['p1', 't1']);
      expect(log.unread).toBe(1);
      store = factory.reopen(store);
      const again = store.queueLog('/', 'q');
      expect(again.unread).toBe(3);
      expect(again.read(Infinity, Infinity).map((m) => m.message.body.toString())).toEqual(['kept', 'p1', 'p2']);
      store.close();
    });

    it('removes every unread message at once (purge)', () => {
      let store = factory.create();
      const log = store.queueLog('/', 'q');
      const kept = log.append(message('delivered'), 0, true);
      log.delivered(kept);
      for (let i = 0; i < 3; i++) log.appendUnread(message(`u${i}`), 0, true);
      log.removeUnread();
      expect(log.unread).toBe(0);
      store = factory.reopen(store);
      expect(bodies(store, 'q')).toEqual(['delivered']);
      store.close();
    });

    it('keeps queues apart, and a destroyed queue comes back empty', () => {
      let store = factory.create();
      store.queueLog('/', 'a').append(message('a1'), 0, true);
      store.queueLog('other', 'a').append(message('o1'), 0, true);
      const b = store.queueLog('/', 'b');
      b.append(message('b1'), 0, true);
      b.destroy();
      store = factory.reopen(store);
      expect(bodies(store, 'a')).toEqual(['a1']);
      expect(store.queueLog('other', 'a').read(Infinity, Infinity).map((m) => m.message.body.toString())).toEqual(['o1']);
      expect(bodies(store, 'b')).toEqual([]);
      store.close();
    });

    it('drops the logs of queues nobody opened after recovery', () => {
      let store = factory.create();
      store.queueLog('/', 'orphan').append(message('x'), 0, true);
      store = factory.reopen(store);
      store.dropUnopenedLogs();
      store = factory.reopen(store);
      expect(bodies(store, 'orphan')).toEqual([]);
      store.close();
    });

    it('keeps definitions across a restart: the latest version of each, deleted ones gone', () => {
      let store = factory.create();
      store.putDefinition({ kind: 'queue', vhost: '/', key: 'q1', value: { v: 1 } });
      store.putDefinition({ kind: 'exchange', vhost: '/', key: 'x', value: { type: 'topic' } });
      store.putDefinition({ kind: 'queue', vhost: '/', key: 'q2', value: { v: 1 } });
      store.putDefinition({ kind: 'queue', vhost: '/', key: 'q1', value: { v: 2 } });
      store.deleteDefinition('queue', '/', 'q2');
      store = factory.reopen(store);
      expect(store.definitions).toEqual([
        { kind: 'exchange', vhost: '/', key: 'x', value: { type: 'topic' } },
        { kind: 'queue', vhost: '/', key: 'q1', value: { v: 2 } },
      ]);
      store.close();
    });

    it('tells every waiting listener once, in order, that what was appended before is synced', async () => {
      const store = factory.create();
      const log = store.queueLog('/', 'q');
      log.append(message('m'), 0, true);
      const calls: string[] = [];
      const listener = (name: string): SyncListener => ({ synced: (failed) => calls.push(failed === undefined ? name : `${name} failed`) });
      await new Promise<void>((resolve) => {
        store.afterSync(listener('a'));
        store.afterSync({ synced: () => (calls.push('b'), resolve()) });
      });
      expect(calls).toEqual(['a', 'b']);
      store.close();
    });
  });
}
