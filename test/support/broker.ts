// Where tests connect: the broker named by AMQP_URL (a real RabbitMQ, to check our expectations), or a
// Warren started in this process.
import { startBroker, type BrokerOptions, type RunningBroker } from '../../src/index.js';

export interface TestBroker {
  url: string;
  host: string;
  port: number;
  /** True when the tests run against Warren in this process. */
  embedded: boolean;
  close(): Promise<void>;
}

export async function testBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const external = process.env.AMQP_URL;
  if (external) {
    const u = new URL(external);
    return { url: external, host: u.hostname, port: Number(u.port || 5672), embedded: false, close: async () => {} };
  }
  const broker: RunningBroker = await startBroker(options);
  return { url: broker.url, host: broker.host, port: broker.port, embedded: true, close: () => broker.close() };
}
