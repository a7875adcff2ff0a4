// The broker: virtual hosts and everything in them. No sockets, no frames.
import { VirtualHost } from './virtual-host.js';

export class Broker {
  private readonly vhosts = new Map<string, VirtualHost>();

  constructor() {
    this.addVhost('/');
  }

  addVhost(name: string): VirtualHost {
    let vhost = this.vhosts.get(name);
    if (!vhost) {
      vhost = new VirtualHost(name);
      this.vhosts.set(name, vhost);
    }
    return vhost;
  }

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }
}
