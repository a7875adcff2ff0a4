// The client connections and channels the broker serves, as its observers (the management API,
// Prometheus, tests) see them. The AMQP server's connections register here once open; the broker
// knows them only through these interfaces.
import type { FieldTable } from '../protocol/field-table.js';
import type { MessageCounters } from './observation.js';
import type { Session } from './session.js';

export interface ClientChannel {
  /** The channel number on its connection. */
  readonly number: number;
  /** Its consumers, deliveries, prefetch and counters. */
  readonly session: Session;
  readonly confirm: boolean;
  readonly transactional: boolean;
  /** Publishes not yet confirmed (confirm mode), and publishes and acks held by an open transaction. */
  readonly unconfirmed: number;
  readonly uncommittedMessages: number;
  readonly uncommittedAcks: number;
}

export interface ClientConnection {
  /** RabbitMQ's name for it: "peer-host:peer-port -> host:port". */
  readonly name: string;
  readonly user: string;
  readonly vhost: string;
  /** When the handshake finished (ms since the epoch, by the broker's clock). */
  readonly connectedAt: number;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly host: string;
  readonly port: number;
  readonly authMechanism: string;
  /** Over TLS (amqps). */
  readonly ssl: boolean;
  readonly clientProperties: FieldTable;
  readonly frameMax: number;
  readonly channelMax: number;
  /** The negotiated heartbeat interval, seconds. */
  readonly heartbeat: number;
  /** Octets and reads/writes on the socket (RabbitMQ's recv_oct, send_oct, recv_cnt, send_cnt). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly reads: number;
  readonly writes: number;
  /** Bytes waiting to be written to the socket. */
  readonly sendPending: number;
  /** Blocked by a resource alarm, or paused by flow control. */
  readonly state: 'running' | 'blocked' | 'flow';
  /** Message counters of all its channels, open and closed. */
  readonly counters: MessageCounters;
  readonly clientChannels: Iterable<ClientChannel>;
  /** Closes it from the broker's side, as an operator does: connection.close with `code` and `text`. */
  close(code: number, text: string): void;
}
