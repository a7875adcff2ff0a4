// What the per-class method handlers (exchange.ts, queue.ts, basic.ts, confirm.ts, tx.ts) see of a
// channel, and what a channel needs of its connection. Interfaces only, so that the connection, the
// channel and the handlers import each other in one direction.
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../broker/logger.js';
import type { Message } from '../broker/message.js';
import type { PublishOutcome } from '../broker/publishing.js';
import type { Queue, Settlement } from '../broker/queue.js';
import type { Session } from '../broker/session.js';
import type { Writer } from '../protocol/codec.js';
import type { BASIC_DELIVER, BASIC_GET_OK, BASIC_RETURN, Method, MethodArgs } from '../protocol/generated/spec.js';
import type { AmqpError } from './errors.js';

/** Something with confirms to write when the connection flushes. */
export interface ConfirmWriter {
  writeConfirms(): void;
}

export interface ConnectionPort {
  readonly id: number;
  /** RabbitMQ's name for it: "peer-host:peer-port -> host:port". */
  readonly name: string;
  readonly broker: Broker;
  readonly logger: Logger;
  /** The connection's output batch, flushed once per event-loop turn. */
  readonly out: Writer;
  readonly frameMax: number;
  /** Largest message body accepted (RabbitMQ's max_message_size). */
  readonly maxMessageSize: number;
  /** Whether deliveries may be written now (the output is not backed up). */
  readonly writable: boolean;
  send<K extends Method['id']>(channel: number, id: K, args: Partial<MethodArgs<K>>): void;
  scheduleFlush(): void;
  hasCapability(name: string): boolean;
  /** A channel has finished closing and gives its id back. */
  channelClosed(id: number): void;
  confirmsPending(writer: ConfirmWriter): void;
  /** Stops reading until `queue` has worked down its backlog (flow control). */
  waitFor(queue: Queue): void;
  /** A message was published: under a resource alarm the connection blocks. */
  publishing(): void;
}

export type ContentMethod = typeof BASIC_DELIVER | typeof BASIC_GET_OK | typeof BASIC_RETURN;

/** A publisher-confirm or transaction mode's part in publishing and acknowledging. */
export interface PublishMode {
  readonly kind: 'confirm' | 'tx';
  /** Takes a checked publish to route later (a transaction); false: route it now. */
  hold(exchange: string, routingKey: string, mandatory: boolean, header: Buffer, body: Buffer, ttl: number | undefined): boolean;
  /** What a publish routed now did. */
  published(outcome: PublishOutcome): void;
  /** Takes an acknowledgement to apply later (a transaction); false: apply it now. */
  holdSettle(tag: number, multiple: boolean, how: Settlement): boolean;
  /** Publishes not yet confirmed (confirm mode) or held for the commit (tx), and acks held for it. */
  readonly heldPublishes: number;
  readonly heldAcks: number;
  /** The channel closes: nothing more is sent for what is pending. */
  release(): void;
}

export interface AmqpChannel {
  readonly id: number;
  readonly connection: ConnectionPort;
  readonly session: Session;
  /** Reused for every publish on the channel (no allocation per message). */
  readonly outcome: PublishOutcome;
  /** Set by confirm.select or tx.select; undefined in plain mode. */
  mode: PublishMode | undefined;
  reply<K extends Method['id']>(id: K, args: Partial<MethodArgs<K>>): void;
  /** A content-bearing method, its content header as the publisher sent it, and the body in frames. */
  sendContent<K extends ContentMethod>(id: K, args: MethodArgs<K>, message: Message): void;
  /** basic.return of an unroutable mandatory message. */
  returnUnroutable(outcome: PublishOutcome): void;
  /** Closes the channel with a soft error decided after the method that caused it returned. */
  closeWithError(err: AmqpError): void;
}
