// The TCP listener: accepts sockets and hands each to a Connection.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { platform } from 'node:os';
import { SHUTDOWN_TEXT, type Broker } from '../broker/broker.js';
import { realClock, type Timer } from '../broker/clock.js';
import type { Logger } from '../broker/logger.js';
import { toFieldTable, type FieldTable } from '../protocol/field-table.js';
import { defaultConfig, WARREN_VERSION, type ServerConfig } from './config.js';
import { Connection, type ConnectionContext } from './connection.js';

export interface ServerOptions {
  broker: Broker;
  logger: Logger;
  config?: Partial<ServerConfig>;
}

/** An amqps listener, as RabbitMQ's ssl_options configure it. */
export interface TlsListenerOptions {
  /** PEM. */
  cert: string | Buffer;
  key: string | Buffer;
  /** CAs that client certificates must chain to. */
  ca?: string | Buffer;
  /** verify_peer: ask clients for a certificate and check any they present (verify_none otherwise). */
  verify: boolean;
  /** With verify: refuse clients without a certificate. */
  failIfNoPeerCert: boolean;
}

/** connection.start's server-properties: RabbitMQ's keys, with Warren named in platform and information. */
function serverProperties(config: ServerConfig): FieldTable {
  return toFieldTable({
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
    cluster_name: config.clusterName,
    copyright: 'Copyright (c) 2007-2022 VMware, Inc. or its affiliates.',
    information: `Warren ${WARREN_VERSION}, an AMQP 0-9-1 broker for Node.js following RabbitMQ ${config.rabbitmqVersion}`,
    platform: `Node.js ${process.version} (${platform()}) / Warren ${WARREN_VERSION}`,
    product: config.product,
    version: config.rabbitmqVersion,
  });
}

/** Listens on `port` (0: a free one) and says where; a failure to listen rejects (EADDRINUSE…). Its HTTP twin is src/management/listen.ts. */
function bind(listener: NetServer, port: number, host: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      const addr = listener.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('the listener has no TCP address'));
      resolve({ host: addr.address, port: addr.port });
    });
  });
}

export class Server implements ConnectionContext {
  readonly broker: Broker;
  readonly config: ServerConfig;
  /** Replaceable: the CLI listens first and plugs pino in afterwards. */
  logger: Logger;
  readonly serverProperties: FieldTable;
  readonly connections = new Set<Connection>();
  private readonly net: NetServer;
  /** Where it listens, once it does. */
  private bound: { host: string; port: number } | undefined;
  private readonly tlsListeners: NetServer[] = [];
  /** One timer for every connection's consumer timeout, as RabbitMQ checks it periodically. */
  private readonly ackTimer: Timer;

  constructor(options: ServerOptions) {
    this.logger = options.logger;
    this.config = { ...defaultConfig(), ...options.config };
    this.broker = options.broker;
    this.serverProperties = serverProperties(this.config);
    this.net = createServer({ noDelay: true }, (socket: Socket) => this.connections.add(new Connection(this, socket)));
    this.net.on('error', (err) => this.logger.error({ err }, 'listener error'));
    const clock = this.broker.clock;
    const every = Math.min(60000, Math.max(100, this.config.consumerTimeoutMs / 10));
    this.ackTimer = clock.every(every, () => {
      const now = clock.now();
      for (const c of this.connections) if (c.isRunning) c.checkAckTimeouts(now);
    });
    this.broker.alarms.onChange((active) => {
      for (const c of this.connections) c.alarmsChanged(active);
    });
  }

  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    this.bound = await bind(this.net, port, host);
    return this.bound;
  }

  /**
   * Listens for amqps as well: the same broker behind TLS. A client whose certificate does not verify
   * is refused in the handshake (with fail_if_no_peer_cert) or right after it, as RabbitMQ refuses it.
   */
  listenTls(port: number, host: string, options: TlsListenerOptions): Promise<{ host: string; port: number }> {
    const tls = createTlsServer({ cert: options.cert, key: options.key, ca: options.ca, requestCert: options.verify, rejectUnauthorized: options.verify && options.failIfNoPeerCert }, (socket: TLSSocket) => {
      // verify_peer without fail_if_no_peer_cert: no certificate is fine, a bad one is not
      const presented = options.verify && Object.keys(socket.getPeerCertificate()).length > 0;
      if (presented && !socket.authorized) {
        this.logger.warn({ peer: `${socket.remoteAddress}:${socket.remotePort}`, reason: String(socket.authorizationError) }, 'TLS client certificate refused');
        socket.destroy();
        return;
      }
      this.connections.add(new Connection(this, socket, { verify: options.verify }));
    });
    tls.on('tlsClientError', (err, socket) => this.logger.info({ peer: `${socket.remoteAddress}:${socket.remotePort}`, reason: err.message }, 'TLS handshake failed'));
    this.tlsListeners.push(tls);
    return bind(tls, port, host);
  }

  /** Stops listening (new clients get ECONNREFUSED, as from a broker that is down); open connections stay. */
  refuseConnections(): void {
    if (this.net.listening) this.net.close();
  }

  /** Listens again, on the address it had, after refuseConnections(). */
  async acceptConnections(): Promise<void> {
    if (this.net.listening || this.bound === undefined) return;
    await this.listen(this.bound.port, this.bound.host);
  }

  connectionClosed(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** Stops accepting, closes every connection with 320 CONNECTION_FORCED, and waits for the sockets to go. */
  async close(): Promise<void> {
    const clock = this.broker.clock;
    clock.cancel(this.ackTimer);
    const closed = Promise.all([this.net, ...this.tlsListeners].map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    for (const c of this.connections) {
      if (c.isRunning) c.close(320, SHUTDOWN_TEXT);
      else c.destroy();
    }
    // clients get a second to answer close-ok, by the machine's clock (a manual one may never move)
    const deadline = realClock.after(1000, () => {
      for (const c of this.connections) c.destroy();
    });
    const sockets = [...this.connections].map(
      (c) => new Promise<void>((resolve) => (c.socket.destroyed ? resolve() : c.socket.once('close', () => resolve()))),
    );
    await Promise.all(sockets);
    realClock.cancel(deadline);
    await closed;
    this.broker.close();
  }
}
