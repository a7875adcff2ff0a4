// The broker: virtual hosts and everything in them. No sockets, no frames.
import type { DefinitionKind, MessageStore } from './store.js';
import { VirtualHost } from './virtual-host.js';

/** Recovery order: what a definition refers to comes back before it. */
const RECOVERY_ORDER: readonly DefinitionKind[] = ['vhost', 'policy', 'exchange', 'queue', 'binding'];

export class Broker {
  private readonly vhosts = new Map<string, VirtualHost>();

  /** With a store, durable definitions and persistent messages come back from it. */
  constructor(readonly store?: MessageStore) {
    if (store) this.recover(store);
    if (!this.vhosts.has('/')) this.addVhost('/');
  }

  private recover(store: MessageStore): void {
    const definitions = store.definitions;
    for (const kind of RECOVERY_ORDER) {
      for (const d of definitions) {
        if (d.kind !== kind) continue;
        const vhost = this.vhosts.get(d.vhost) ?? this.createVhost(d.vhost);
        vhost.restore(d);
      }
    }
    store.dropUnopenedLogs();
  }

  addVhost(name: string): VirtualHost {
    const existing = this.vhosts.get(name);
    if (existing) return existing;
    this.store?.putDefinition({ kind: 'vhost', vhost: name, key: name, value: {} });
    return this.createVhost(name);
  }

  private createVhost(name: string): VirtualHost {
    const vhost = new VirtualHost(name, this.store);
    this.vhosts.set(name, vhost);
    return vhost;
  }

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  /** Hands buffered store writes to the OS (before replies go out, so an acked message stays acked). */
  writePending(): void {
    this.store?.writePending();
  }

  close(): void {
    this.store?.close();
  }
}
