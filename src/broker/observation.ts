// What can be watched, for the management API's statistics, Prometheus, the firehose and frame traces:
// message counters kept on every vhost, exchange, queue, connection and channel, and events published
// on node:diagnostics_channel channels.
//
// Why diagnostics_channel rather than an event emitter: publishing costs one property check
// (`hasSubscribers`) when nobody listens; a tool outside Warren (a test, an APM agent, a script loaded
// with `node --import`) subscribes by name without holding a reference to a broker; and it is built in.
// Channels are process-wide, so every event names its broker: with several brokers in one test
// process, `subscribe(broker, …)` picks out one.
import { channel, type Channel } from 'node:diagnostics_channel';

/**
 * RabbitMQ's message_stats for one entity. Each counter only ever grows; rates are differences over
 * time. Not every entity uses every counter: a queue's `published` is what was enqueued in it, an
 * exchange's `published` and `routed` are RabbitMQ's publish_in and publish_out. A vhost's count
 * everything done in it (its sessions count there as well as on their own).
 */
export class MessageCounters {
  /** Messages published (channel, connection, vhost), published into (exchange) or enqueued (queue). */
  published = 0;
  publishedBytes = 0;
  /** Messages that reached at least one queue (exchange: publish_out). */
  routed = 0;
  /** Unroutable messages dropped, and those returned to a mandatory publisher. */
  unroutableDropped = 0;
  unroutableReturned = 0;
  /** Publisher confirms sent (basic.ack) and refusals (basic.nack). */
  confirmed = 0;
  nacked = 0;
  /** Deliveries to consumers that acknowledge, and to no-ack consumers. */
  delivered = 0;
  deliveredNoAck = 0;
  /** basic.get with and without acknowledgement, and basic.get on an empty queue. */
  got = 0;
  gotNoAck = 0;
  gotEmpty = 0;
  /** Deliveries (and gets) of messages that had been delivered before. */
  redelivered = 0;
  acked = 0;
  /** Body bytes delivered or got. */
  deliveredBytes = 0;
  /** Messages a queue handed to its dead-letter exchange (or dropped, without one). */
  deadLettered = 0;

  /** Adds another entity's counters to these (a closed channel's into its connection's). */
  add(other: MessageCounters): void {
    for (const key of COUNTER_KEYS) this[key] += other[key];
  }
}

export type CounterKey = Exclude<keyof MessageCounters, 'add'>;

/** How many connections, channels and queues came and went (RabbitMQ's churn rates). */
export class ChurnCounters {
  connectionCreated = 0;
  connectionClosed = 0;
  channelCreated = 0;
  channelClosed = 0;
  queueCreated = 0;
  /** Every queue.declare that succeeded, passive ones and redeclarations included. */
  queueDeclared = 0;
  queueDeleted = 0;
}
export const COUNTER_KEYS = Object.keys(new MessageCounters()) as CounterKey[];

/** Who an event belongs to: every event carries the broker (or server) it came from. */
export interface Owned {
  readonly broker: object;
}

export interface FrameEvent extends Owned {
  /** The connection's id (unique within its server). */
  readonly connection: number;
  readonly channel: number;
  readonly direction: 'in' | 'out';
  /** AMQP frame type: 1 method, 2 content header, 3 body, 8 heartbeat. */
  readonly type: number;
  /** The frame's payload, as received or as written. Valid only while the listener runs. */
  readonly payload: Buffer;
}

export interface LifecycleEvent<T> extends Owned {
  readonly event: 'created' | 'deleted';
  readonly vhost: string;
  readonly subject: T;
}

/** Named so that tools can subscribe with node:diagnostics_channel directly. */
export const CHANNEL_NAMES = {
  frame: 'warren:frame',
  connection: 'warren:connection',
  channel: 'warren:channel',
  consumer: 'warren:consumer',
  queue: 'warren:queue',
  exchange: 'warren:exchange',
  binding: 'warren:binding',
} as const;

export type ObservableName = keyof typeof CHANNEL_NAMES;

/** What each channel carries; the subjects are the broker's and server's own objects (read them, do not keep them). */
export interface Observables {
  frame: FrameEvent;
  connection: LifecycleEvent<unknown>;
  channel: LifecycleEvent<unknown>;
  consumer: LifecycleEvent<{ readonly tag: string; readonly queue: { readonly name: string } }>;
  queue: LifecycleEvent<{ readonly name: string }>;
  exchange: LifecycleEvent<{ readonly name: string }>;
  binding: LifecycleEvent<{ readonly source: { readonly name: string }; readonly destination: { readonly name: string }; readonly routingKey: string }>;
}

export const observed: { readonly [K in ObservableName]: Channel } = {
  frame: channel(CHANNEL_NAMES.frame),
  connection: channel(CHANNEL_NAMES.connection),
  channel: channel(CHANNEL_NAMES.channel),
  consumer: channel(CHANNEL_NAMES.consumer),
  queue: channel(CHANNEL_NAMES.queue),
  exchange: channel(CHANNEL_NAMES.exchange),
  binding: channel(CHANNEL_NAMES.binding),
};

/** Publishes a lifecycle event, only when someone listens (nothing is built otherwise). */
export function announce<K extends Exclude<ObservableName, 'frame'>>(name: K, broker: object, event: 'created' | 'deleted', vhost: string, subject: Observables[K]['subject']): void {
  const ch = observed[name];
  if (ch.hasSubscribers) ch.publish({ broker, event, vhost, subject });
}

/** Listens to one kind of event from one broker (or server); returns the function that stops it. */
export function subscribe<K extends ObservableName>(owner: object, name: K, listener: (event: Observables[K]) => void): () => void {
  const ch = observed[name];
  const filtered = (message: unknown) => {
    if ((message as Owned).broker === owner) listener(message as Observables[K]);
  };
  ch.subscribe(filtered);
  return () => void ch.unsubscribe(filtered);
}
