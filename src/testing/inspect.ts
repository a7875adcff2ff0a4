// Looking into a running broker without touching it: what is declared, who is connected and consuming,
// and the messages a queue holds, read in place (peeking changes neither order nor `redelivered`).
import type { Broker } from '../broker/broker.js';
import type { ClientConnection } from '../broker/clients.js';
import type { QueuedMessage } from '../broker/message.js';
import type { Queue } from '../broker/queue.js';
import type { VirtualHost } from '../broker/virtual-host.js';
import type { BasicProperties } from '../protocol/generated/spec.js';
import { tableToJson, type Json as JsonValue } from '../protocol/field-json.js';
import type { FieldTable } from '../protocol/field-table.js';

export interface QueueInfo {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  exclusive: boolean;
  arguments: Record<string, JsonValue>;
  /** Ready plus unacknowledged. */
  messages: number;
  messagesReady: number;
  messagesUnacknowledged: number;
  consumers: number;
  /** The policy in effect, if any. */
  policy: string | undefined;
}

export interface ExchangeInfo {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: Record<string, JsonValue>;
}

export interface BindingInfo {
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  arguments: Record<string, JsonValue>;
}

export interface ConnectionInfo {
  /** RabbitMQ's name: "peer-host:peer-port -> host:port" (the management API's, and faults' selector). */
  name: string;
  /** The client's connection_name property, when it sent one. */
  clientProvidedName: string | undefined;
  user: string;
  vhost: string;
  peerHost: string;
  peerPort: number;
  channels: number;
  state: 'running' | 'blocked' | 'flow';
}

export interface ChannelInfo {
  connection: string;
  number: number;
  consumers: number;
  unacknowledged: number;
  confirm: boolean;
  transactional: boolean;
}

export interface ConsumerInfo {
  vhost: string;
  queue: string;
  consumerTag: string;
  connection: string;
  channel: number;
  ackRequired: boolean;
  exclusive: boolean;
  prefetch: number;
  arguments: Record<string, JsonValue>;
}

export interface PeekedMessage {
  exchange: string;
  routingKey: string;
  properties: BasicProperties;
  /** The headers property as JSON (field values the management API's way), {} without. */
  headers: Record<string, JsonValue>;
  body: Buffer;
  redelivered: boolean;
}

export interface UnackedMessage extends PeekedMessage {
  connection: string;
  channel: number;
  deliveryTag: number;
}

export interface Peeked {
  /** Ready messages in delivery order (at most `limit`, and only those held in memory: see `pagedOut`). */
  ready: PeekedMessage[];
  /** Delivered and awaiting their ack, by connection and channel. */
  unacked: UnackedMessage[];
  /** Ready messages beyond those shown, paged out to disk. */
  pagedOut: number;
}

/** Picks connections: by RabbitMQ's name or the client-provided one, or by a test on their info. */
export type ConnectionSelector = string | ((c: ConnectionInfo) => boolean);

const json = (t: FieldTable) => tableToJson(t);

export function connectionInfo(c: ClientConnection): ConnectionInfo {
  const provided = c.clientProperties.connection_name;
  return {
    name: c.name,
    clientProvidedName: provided?.type === 'S' ? String(provided.value) : undefined,
    user: c.user,
    vhost: c.vhost,
    peerHost: c.peerHost,
    peerPort: c.peerPort,
    channels: [...c.clientChannels].length,
    state: c.state,
  };
}

export function selects(selector: ConnectionSelector | undefined, info: ConnectionInfo): boolean {
  if (selector === undefined) return true;
  if (typeof selector === 'string') return info.name === selector || info.clientProvidedName === selector;
  return selector(info);
}

function peeked(entry: QueuedMessage): PeekedMessage {
  const m = entry.message;
  const properties = m.properties;
  return {
    exchange: m.exchange,
    routingKey: m.routingKey,
    properties,
    headers: properties.headers === undefined ? {} : json(properties.headers),
    body: m.body,
    redelivered: entry.redelivered,
  };
}

/** What a test sees of a broker: lists, counts and messages, each read at the moment of asking. */
export class Inspector {
  /** `broker` gives the broker of the moment (a restart makes a new one). */
  constructor(private readonly current: () => Broker) {}

  private get broker(): Broker {
    return this.current();
  }

  private vhost(name: string): VirtualHost {
    const v = this.broker.vhost(name);
    if (!v) throw new Error(`no vhost '${name}' (there are ${this.broker.vhostNames.map((n) => `'${n}'`).join(', ')})`);
    return v;
  }

  private vhosts(vhost: string | undefined): VirtualHost[] {
    return vhost === undefined ? this.broker.vhostNames.map((n) => this.broker.vhost(n)!) : [this.vhost(vhost)];
  }

  /** The queue, or an error naming the queues there are. */
  queueNamed(name: string, vhost = '/'): Queue {
    const v = this.vhost(vhost);
    const q = v.queues.get(name);
    if (!q) throw new Error(`no queue '${name}' in vhost '${vhost}' (queues: ${[...v.queues.keys()].map((n) => `'${n}'`).join(', ') || 'none'})`);
    return q;
  }

  queue(name: string, vhost = '/'): QueueInfo {
    const q = this.queueNamed(name, vhost);
    const ready = q.messageCount;
    return {
      vhost,
      name: q.name,
      type: q.type,
      durable: q.options.durable,
      autoDelete: q.options.autoDelete,
      exclusive: q.options.owner !== undefined,
      arguments: json(q.options.args),
      messages: ready + q.unacked,
      messagesReady: ready,
      messagesUnacknowledged: q.unacked,
      consumers: q.consumerCount,
      policy: q.policy?.name,
    };
  }

  queues(vhost?: string): QueueInfo[] {
    return this.vhosts(vhost).flatMap((v) => [...v.queues.keys()].map((n) => this.queue(n, v.name)));
  }

  exchanges(vhost?: string): ExchangeInfo[] {
    return this.vhosts(vhost).flatMap((v) =>
      [...v.exchanges.values()].map((e) => ({
        vhost: v.name,
        name: e.name,
        type: e.type,
        durable: e.options.durable,
        autoDelete: e.options.autoDelete,
        internal: e.options.internal,
        arguments: json(e.options.args),
      })),
    );
  }

  /** Declared bindings (the default exchange's implicit ones are not listed). */
  bindings(vhost?: string): BindingInfo[] {
    return this.vhosts(vhost).flatMap((v) =>
      [...v.exchanges.values()].flatMap((e) =>
        [...e.bindings.values()].map((b) => ({
          vhost: v.name,
          source: e.name,
          destination: b.destination.name,
          destinationType: b.destination.kind,
          routingKey: b.routingKey,
          arguments: json(b.args),
        })),
      ),
    );
  }

  connections(): ConnectionInfo[] {
    return [...this.broker.connections].map(connectionInfo);
  }

  channels(): ChannelInfo[] {
    return [...this.broker.connections].flatMap((c) =>
      [...c.clientChannels].map((ch) => ({
        connection: c.name,
        number: ch.number,
        consumers: ch.session.consumerCount,
        unacknowledged: [...ch.session.unacked].length,
        confirm: ch.confirm,
        transactional: ch.transactional,
      })),
    );
  }

  consumers(vhost?: string): ConsumerInfo[] {
    return [...this.broker.connections]
      .filter((c) => vhost === undefined || c.vhost === vhost)
      .flatMap((c) =>
        [...c.clientChannels].flatMap((ch) =>
          ch.session.consumerList.map((consumer) => ({
            vhost: c.vhost,
            queue: consumer.queue.name,
            consumerTag: consumer.tag,
            connection: c.name,
            channel: ch.number,
            ackRequired: !consumer.noAck,
            exclusive: consumer.exclusive,
            prefetch: consumer.prefetch,
            arguments: json(consumer.args),
          })),
        ),
      );
  }

  /** A queue's messages, read in place: up to `limit` ready ones (100 by default) and every unacknowledged one. */
  peek(queue: string, options: { vhost?: string; limit?: number } = {}): Peeked {
    const vhost = options.vhost ?? '/';
    const q = this.queueNamed(queue, vhost);
    const limit = options.limit ?? 100;
    const ready: PeekedMessage[] = [];
    for (const entry of q.messages.entries()) {
      if (ready.length >= limit) break;
      ready.push(peeked(entry));
    }
    const unacked: UnackedMessage[] = [];
    for (const c of this.broker.connections) {
      for (const ch of c.clientChannels) {
        for (const d of ch.session.unacked) {
          if (d.queue === q) unacked.push({ ...peeked(d.entry), connection: c.name, channel: ch.number, deliveryTag: d.tag });
        }
      }
    }
    return { ready, unacked, pagedOut: q.lengths.pagedOut };
  }
}
