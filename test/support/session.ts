// Bookkeeping for scenario tests with amqplib: every connection a test opens is closed after it, and
// every queue and exchange it names is deleted (deleting what is already gone is fine), so suites can
// run again and again against a shared RabbitMQ.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { testBroker, type TestBroker } from './broker.js';
import type { RawClient } from './raw-client.js';

export class Session {
  readonly conns: ChannelModel[] = [];
  readonly raws: RawClient[] = [];
  readonly queues: string[] = [];
  readonly exchanges: string[] = [];
  adminConn: ChannelModel | undefined;
  private adminCh: Channel | undefined;

  constructor(private readonly url: string) {}

  /** A channel used to declare, inspect and delete; reopened if a test broke it. Never owns exclusive queues. */
  async admin(): Promise<Channel> {
    if (!this.adminConn) {
      const conn = await amqp.connect(this.url);
      this.adminConn = conn;
      conn.on('error', () => {});
      conn.on('close', () => {
        if (this.adminConn === conn) {
          this.adminConn = undefined;
          this.adminCh = undefined;
        }
      });
    }
    if (!this.adminCh) {
      const ch = await this.adminConn.createChannel();
      ch.on('error', () => {});
      ch.on('close', () => {
        if (this.adminCh === ch) this.adminCh = undefined;
      });
      this.adminCh = ch;
    }
    return this.adminCh;
  }

  async connection(): Promise<ChannelModel> {
    const c = await amqp.connect(this.url);
    c.on('error', () => {});
    this.conns.push(c);
    return c;
  }

  async channel(conn?: ChannelModel): Promise<Channel> {
    const ch = await (conn ?? (await this.connection())).createChannel();
    ch.on('error', () => {});
    return ch;
  }

  async confirmChannel(conn?: ChannelModel): Promise<ConfirmChannel> {
    const ch = await (conn ?? (await this.connection())).createConfirmChannel();
    ch.on('error', () => {});
    return ch;
  }

  /** A fresh connection and a channel on it. */
  async open(): Promise<{ conn: ChannelModel; ch: Channel }> {
    const conn = await this.connection();
    return { conn, ch: await this.channel(conn) };
  }

  /** Ready messages and consumers, from queue.declare-ok (passive). */
  async counts(q: string): Promise<{ messageCount: number; consumerCount: number }> {
    const { messageCount, consumerCount } = await (await this.admin()).checkQueue(q);
    return { messageCount, consumerCount };
  }

  /** Waits until `q` holds `messageCount` ready messages, then checks it does. */
  async waitForCount(q: string, messageCount: number, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.counts(q)).messageCount !== messageCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect((await this.counts(q)).messageCount).toBe(messageCount);
  }

  async cleanup(): Promise<void> {
    for (const r of this.raws.splice(0)) r.destroy();
    for (const c of this.conns.splice(0)) await c.close().catch(() => {});
    const qs = this.queues.splice(0);
    const xs = this.exchanges.splice(0);
    if (qs.length || xs.length) {
      const ch = await this.admin();
      for (const q of qs) await ch.deleteQueue(q);
      for (const x of xs) await ch.deleteExchange(x);
    }
  }

  async close(): Promise<void> {
    await this.cleanup();
    if (this.adminConn) await this.adminConn.close().catch(() => {});
  }
}

/**
 * The set-up scenario suites share: a broker (Warren in this process, or AMQP_URL's), a Session on it
 * cleaned up after each test, and both closed after the suite. The fields are set before the first test.
 */
export function scenarioSuite(): { broker: TestBroker; session: Session } {
  const suite = {} as { broker: TestBroker; session: Session };
  beforeAll(async () => {
    suite.broker = await testBroker();
    suite.session = new Session(suite.broker.url);
  });
  afterAll(async () => {
    await suite.session.close();
    await suite.broker.close();
  });
  afterEach(() => suite.session.cleanup());
  return suite;
}
