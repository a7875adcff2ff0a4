// A virtual host: a namespace of exchanges, queues and bindings.

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers';

export interface Exchange {
  readonly name: string;
  readonly type: ExchangeType;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
}

/** The exchanges every vhost has: the default one and RabbitMQ's amq.* set. */
const PREDECLARED: readonly [string, ExchangeType, boolean][] = [
  ['', 'direct', false],
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
];

export class VirtualHost {
  private readonly exchanges = new Map<string, Exchange>();

  constructor(readonly name: string) {
    for (const [exchangeName, type, internal] of PREDECLARED) {
      this.exchanges.set(exchangeName, { name: exchangeName, type, durable: true, autoDelete: false, internal });
    }
  }

  exchange(name: string): Exchange | undefined {
    return this.exchanges.get(name);
  }
}
