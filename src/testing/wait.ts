// Waits for a broker to reach a state, without sleeps: the condition is checked after every batch of
// client work, and every few milliseconds for changes that come from timers (TTLs, heartbeats). A
// wait that times out says what it was waiting for and what it saw last.
import type { Broker } from '../broker/broker.js';
import { realClock } from '../broker/clock.js';
import type { ConnectionInfo, ConsumerInfo, Inspector, PeekedMessage, QueueInfo } from './inspect.js';

export interface WaitOptions {
  /** ms, by the machine's clock (a manual broker clock does not run it out); 5000 by default. */
  timeout?: number;
  vhost?: string;
}

/** What a queue must show; each field given must be equal. */
export type QueueExpectation = Partial<Pick<QueueInfo, 'messages' | 'messagesReady' | 'messagesUnacknowledged' | 'consumers'>>;

const POLL_MS = 10;

export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

/**
 * Resolves with `probe()`'s value once `done` holds for it. `probe` may throw (a queue not declared
 * yet): that counts as not there yet, and its message is what was seen.
 */
export function waitUntil<T>(current: () => Broker, what: string, probe: () => T, done: (value: T) => boolean, timeout = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    let seen = 'nothing yet';
    const check = (): boolean => {
      try {
        const value = probe();
        if (done(value)) {
          finish();
          resolve(value);
          return true;
        }
        seen = JSON.stringify(value);
      } catch (err) {
        seen = (err as Error).message;
      }
      return false;
    };
    const unwatch = current().watch(check);
    const poll = realClock.every(POLL_MS, check);
    const deadline = realClock.after(timeout, () => {
      finish();
      reject(new WaitTimeout(`timed out after ${timeout} ms waiting for ${what}; last seen: ${seen}`));
    });
    const finish = () => {
      unwatch();
      realClock.cancel(poll);
      realClock.cancel(deadline);
    };
    check();
  });
}

const matches = (info: QueueInfo, expected: QueueExpectation) => Object.entries(expected).every(([k, v]) => info[k as keyof QueueInfo] === v);

/** The waits a started broker offers as `broker.waitFor`. */
export function waits(broker: () => Broker, inspect: Inspector) {
  return {
    /** Until the queue exists and shows `expected` (e.g. `{ messages: 3 }`, `{ consumers: 1 }`). */
    queue(name: string, expected: QueueExpectation = {}, options: WaitOptions = {}): Promise<QueueInfo> {
      const vhost = options.vhost ?? '/';
      return waitUntil(broker, `queue '${name}' in vhost '${vhost}' to have ${JSON.stringify(expected)}`, () => inspect.queue(name, vhost), (q) => matches(q, expected), options.timeout);
    },
    /** Until the vhost (or, with `queue`, that queue) has exactly `count` consumers. */
    consumers(count: number, options: WaitOptions & { queue?: string } = {}): Promise<ConsumerInfo[]> {
      const what = `${count} consumer(s)${options.queue === undefined ? '' : ` on queue '${options.queue}'`}`;
      const probe = () => inspect.consumers(options.vhost).filter((c) => options.queue === undefined || c.queue === options.queue);
      return waitUntil(broker, what, probe, (list) => list.length === count, options.timeout);
    },
    /** Until exactly `count` connections are open (handshake done), in the vhost if one is given. */
    connections(count: number, options: WaitOptions = {}): Promise<ConnectionInfo[]> {
      const probe = () => inspect.connections().filter((c) => options.vhost === undefined || c.vhost === options.vhost);
      return waitUntil(broker, `${count} connection(s)`, probe, (list) => list.length === count, options.timeout);
    },
  };
}

/** Until a ready message of the queue satisfies `predicate` (it stays in the queue). */
export function waitForMessage(broker: () => Broker, inspect: Inspector, queue: string, predicate: (m: PeekedMessage) => boolean, options: WaitOptions = {}): Promise<PeekedMessage> {
  const vhost = options.vhost ?? '/';
  const probe = () => {
    const { ready } = inspect.peek(queue, { vhost, limit: Infinity });
    return { found: ready.find(predicate), ready: ready.length };
  };
  return waitUntil(broker, `a matching message in queue '${queue}' in vhost '${vhost}'`, probe, (r) => r.found !== undefined, options.timeout).then((r) => r.found!);
}
