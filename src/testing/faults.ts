// Faults on demand, for testing clients' recovery code: connections closed, dropped or silently dead,
// resource alarms, consumers cancelled by the server, and a broker that refuses connections.
import type { Alarm } from '../broker/alarms.js';
import { realClock } from '../broker/clock.js';
import type { Server } from '../server/server.js';
import type { Connection } from '../server/connection.js';
import { connectionInfo, selects, type ConnectionSelector } from './inspect.js';

/** RabbitMQ's answer to an operator closing a connection, unless told otherwise. */
const FORCED = 'CONNECTION_FORCED - Closed via management plugin';

export class Faults {
  constructor(private readonly server: () => Server) {}

  private pick(selector: ConnectionSelector | undefined): Connection[] {
    const found = [...this.server().connections].filter((c) => c.isRunning && selects(selector, connectionInfo(c)));
    if (found.length === 0) throw new Error(`no open connection matches ${selector === undefined ? '(any)' : typeof selector === 'string' ? `'${selector}'` : 'the selector'}`);
    return found;
  }

  /** connection.close from the server with `code` and `text` (320 and the management API's text by default). */
  closeConnection(selector?: ConnectionSelector, code = 320, text = FORCED): number {
    const found = this.pick(selector);
    for (const c of found) c.close(code, text);
    return found.length;
  }

  /** The socket is reset with no close frame, as when the broker's host goes away. */
  dropConnection(selector?: ConnectionSelector): number {
    const found = this.pick(selector);
    for (const c of found) c.destroy();
    return found.length;
  }

  /** The link goes silently dead (TCP stays open, nothing flows, not even heartbeats): see Connection.blackhole. */
  blackhole(selector?: ConnectionSelector): number {
    const found = this.pick(selector);
    for (const c of found) c.blackhole();
    return found.length;
  }

  /** Raises or clears a resource alarm: publishers are blocked (connection.blocked) while it is on. */
  alarm(kind: Alarm, on: boolean): void {
    this.server().broker.alarms.force(kind, on);
  }

  /**
   * Cancels consumers from the server side (basic.cancel to clients that can take it), by tag, in every
   * vhost; with `queue`, only that queue's. Returns how many were cancelled.
   */
  cancelConsumer(tag: string, options: { queue?: string } = {}): number {
    let cancelled = 0;
    for (const c of this.server().broker.connections) {
      for (const ch of c.clientChannels) {
        const consumer = ch.session.consumerList.find((x) => x.tag === tag);
        if (consumer && (options.queue === undefined || consumer.queue.name === options.queue) && ch.session.cancelByServer(tag)) cancelled++;
      }
    }
    if (cancelled === 0) throw new Error(`no consumer with tag '${tag}'${options.queue === undefined ? '' : ` on queue '${options.queue}'`}`);
    return cancelled;
  }

  /** New connections are refused (ECONNREFUSED) until acceptConnections(), or for `ms` when given. */
  refuseConnections(ms?: number): Promise<void> {
    const server = this.server();
    server.refuseConnections();
    if (ms === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => realClock.after(ms, () => server.acceptConnections().then(resolve, reject)));
  }

  acceptConnections(): Promise<void> {
    return this.server().acceptConnections();
  }
}
