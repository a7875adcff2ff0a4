// Queue limits as RabbitMQ 3.10 behaves: message TTL (x-message-ttl and the per-message expiration
// property), x-max-length and x-max-length-bytes with the default overflow (drop-head) and with
// x-overflow reject-publish (nacked under publisher confirms). No dead-lettering here.
// Written against RabbitMQ and run against it too:
// AMQP_URL=amqp://guest:guest@127.0.0.1:5682/ npx vitest run test/conformance/queue-limits.test.ts
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scenarioSuite } from '../support/session.js';
import { body, consumer, expectChannelError, get, sleep, waitFor, within } from '../support/scenario.js';

const suite = scenarioSuite();

// ---------------------------------------------------------------------------------------------------
// Bookkeeping: every connection a test opens is closed after it, every queue it declares is deleted.

const admin = () => suite.session.admin();
const connection = () => suite.session.connection();
const channel = (conn?: ChannelModel) => suite.session.channel(conn);
const counts = (q: string) => suite.session.counts(q);
const waitForCount = (q: string, n: number, timeoutMs?: number) => suite.session.waitForCount(q, n, timeoutMs);

const unique = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

/** A non-exclusive queue with these x-arguments, deleted after the test. */
async function queue(args: Record<string, unknown> = {}, ch?: Channel): Promise<string> {
  const name = unique('warren-limits');
  suite.session.queues.push(name);
  await (ch ?? (await admin())).assertQueue(name, { durable: false, autoDelete: false, arguments: args });
  return name;
}

/** Time for the broker to send anything more it was going to send (to check that it does not). */
const settle = () => sleep(150);

/** Every ready message's body, in order, taken with basic.get (no-ack) until get-empty. */
async function drain(q: string): Promise<string[]> {
  const ch = await admin();
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

/** Publishes on the admin channel and waits until the broker has handled it (a round trip after it). */
async function publish(q: string, bodies: string[], options: amqp.Options.Publish = {}) {
  const ch = await admin();
  for (const b of bodies) ch.sendToQueue(q, Buffer.from(b), options);
  await ch.checkQueue(q);
}

/** Publishes each body on a confirm channel; resolves to 'ack' or 'nack' per message, in publish order. */
async function confirmOutcomes(ch: ConfirmChannel, q: string, bodies: string[]): Promise<Array<'ack' | 'nack'>> {
  const outcomes = bodies.map(
    (b) =>
      new Promise<'ack' | 'nack'>((resolve) => {
        ch.sendToQueue(q, Buffer.from(b), {}, (err) => resolve(err ? 'nack' : 'ack'));
      }),
  );
  return within(Promise.all(outcomes), () => 'confirms did not arrive');
}

// ---------------------------------------------------------------------------------------------------

describe('x-message-ttl', () => {
  it('never delivers a message older than the TTL, and stops counting it', async () => {
    const q = await queue({ 'x-message-ttl': 100 });
    await publish(q, ['old']);
    expect((await counts(q)).messageCount).toBe(1);
    await sleep(200);
    // RabbitMQ drops expired messages from the head on a timer, so the count falls by itself
    await waitForCount(q, 0, 1000);
    expect(await (await admin()).get(q)).toBe(false);
  });

  it('a basic.get after expiry is get-empty even before anything else touches the queue', async () => {
    const q = await queue({ 'x-message-ttl': 50 });
    await publish(q, ['a', 'b']);
    await sleep(150);
    const ch = await channel();
    expect(await ch.get(q)).toBe(false);
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('delivers messages still within the TTL, in order', async () => {
    const q = await queue({ 'x-message-ttl': 5000 });
    await publish(q, ['m0', 'm1']);
    await sleep(50);
    const ch = await channel();
    expect(body(await get(ch, q, true))).toBe('m0');
    const c = await consumer(ch, q, { noAck: true });
    await waitFor(() => c.messages.length === 1);
    expect(c.bodies()).toEqual(['m1']);
  });

  it('expires only the old messages; newer ones survive', async () => {
    const q = await queue({ 'x-message-ttl': 200 });
    await publish(q, ['old']);
    await sleep(130);
    await publish(q, ['new']);
    await sleep(130); // 'old' is over 260 ms old, 'new' about 130 ms
    expect(await drain(q)).toEqual(['new']);
  });

  it('x-message-ttl 0: delivered to a ready consumer, dropped at once without one', async () => {
    const q = await queue({ 'x-message-ttl': 0 });
    await publish(q, ['nobody-home']);
    expect((await counts(q)).messageCount).toBe(0);
    expect(await (await admin()).get(q)).toBe(false);

    const ch = await channel();
    const c = await consumer(ch, q, { noAck: true });
    await publish(q, ['delivered']);
    await waitFor(() => c.messages.length === 1);
    await settle();
    expect(c.bodies()).toEqual(['delivered']);
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('x-message-ttl 0: a consumer at its prefetch limit is not ready, so the message is dropped', async () => {
    const q = await queue({ 'x-message-ttl': 0 });
    const ch = await channel();
    await ch.prefetch(1);
    const c = await consumer(ch, q);
    await publish(q, ['first']);
    await waitFor(() => c.messages.length === 1);
    await publish(q, ['second']); // the consumer has 1 unacked: nobody can take it now
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
    ch.ack(c.messages[0]);
    await settle();
    expect(c.bodies()).toEqual(['first']);
  });
});

describe('per-message expiration', () => {
  it('never delivers a message whose expiration has passed', async () => {
    const q = await queue();
    await publish(q, ['short'], { expiration: '50' });
    await publish(q, ['long'], { expiration: '60000' });
    await publish(q, ['forever']);
    await sleep(150);
    const ch = await channel();
    const m = await get(ch, q, true);
    expect(body(m)).toBe('long');
    // the property is passed on as published
    expect(m.properties.expiration).toBe('60000');
    expect(body(await get(ch, q, true))).toBe('forever');
    expect(await ch.get(q)).toBe(false);
  });

  it('an expired message at the head is dropped from the count (classic queues only expire at the head)', async () => {
    const q = await queue();
    await publish(q, ['short'], { expiration: '50' });
    await sleep(150);
    await waitForCount(q, 0, 1000);
  });

  it('an expired message behind a live one is still counted until it reaches the head', async () => {
    const q = await queue();
    await publish(q, ['live']);
    await publish(q, ['short'], { expiration: '50' });
    await sleep(150);
    // RabbitMQ only looks at the head: the expired message still counts
    expect((await counts(q)).messageCount).toBe(2);
    const ch = await channel();
    expect(body(await get(ch, q, true))).toBe('live');
    expect(await ch.get(q)).toBe(false);
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('the lower of queue TTL and message expiration wins: a short queue TTL beats a long expiration', async () => {
    const q = await queue({ 'x-message-ttl': 100 });
    await publish(q, ['queue-ttl-wins'], { expiration: '60000' });
    await sleep(250);
    expect(await (await channel()).get(q)).toBe(false);
    await waitForCount(q, 0, 1000);
  });

  it('the lower of queue TTL and message expiration wins: a short expiration beats a long queue TTL', async () => {
    const q = await queue({ 'x-message-ttl': 60000 });
    await publish(q, ['expiration-wins'], { expiration: '50' });
    await publish(q, ['queue-ttl'], { expiration: '60000' });
    await publish(q, ['plain']);
    await sleep(200);
    expect(await drain(q)).toEqual(['queue-ttl', 'plain']);
  });

  it('a message expiration of 0 to a queue with no consumer is dropped at once', async () => {
    const q = await queue();
    await publish(q, ['zero'], { expiration: '0' });
    expect((await counts(q)).messageCount).toBe(0);
    expect(await (await admin()).get(q)).toBe(false);
  });

  for (const [expiration, text] of [
    ['abc', "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"],
    ['-1', "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"],
    ['1.5', `PRECONDITION_FAILED - invalid expiration '1.5': {leftover_string,".5"}`],
    [' 5', "PRECONDITION_FAILED - invalid expiration ' 5': no_integer"],
    // RabbitMQ's ceiling: ten years of milliseconds
    ['315360000001', "PRECONDITION_FAILED - invalid expiration '315360000001': {value_too_large,315360000001}"],
  ] as const) {
    it(`closes the channel with 406 on expiration ${JSON.stringify(expiration)}`, async () => {
      const q = await queue();
      const conn = await connection();
      const ch = await channel(conn);
      await expectChannelError(conn, ch, () => ch.sendToQueue(q, Buffer.from('x'), { expiration }), 406, text, 60, 40);
      expect((await counts(q)).messageCount).toBe(0);
    });
  }

  it('checks the expiration before routing: the channel closes even for an unroutable message', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    await expectChannelError(
      conn,
      ch,
      () => ch.publish('amq.direct', unique('nobody'), Buffer.from('x'), { expiration: 'abc' }),
      406,
      "PRECONDITION_FAILED - invalid expiration 'abc': no_integer",
      60,
      40,
    );
  });
});

describe('x-max-length (drop-head)', () => {
  it('keeps the newest N, oldest first', async () => {
    const q = await queue({ 'x-max-length': 3 });
    await publish(q, ['m0', 'm1', 'm2', 'm3', 'm4']);
    expect((await counts(q)).messageCount).toBe(3);
    expect(await drain(q)).toEqual(['m2', 'm3', 'm4']);
  });

  it('x-max-length 0 keeps nothing', async () => {
    const q = await queue({ 'x-max-length': 0 });
    await publish(q, ['a', 'b']);
    expect((await counts(q)).messageCount).toBe(0);
    expect(await (await admin()).get(q)).toBe(false);
  });

  it('x-max-length 0 still hands a message straight to a ready consumer', async () => {
    const q = await queue({ 'x-max-length': 0 });
    const ch = await channel();
    const c = await consumer(ch, q, { noAck: true });
    await publish(q, ['direct']);
    await waitFor(() => c.messages.length === 1);
    expect(c.bodies()).toEqual(['direct']);
  });

  it('unacked messages do not count toward the limit', async () => {
    const q = await queue({ 'x-max-length': 2 });
    await publish(q, ['m0', 'm1']);
    const ch = await channel();
    const m0 = await get(ch, q);
    expect(body(m0)).toBe('m0');
    await publish(q, ['m2']);
    expect((await counts(q)).messageCount).toBe(2);
    expect(await drain(q)).toEqual(['m1', 'm2']);
    ch.ack(m0);
  });

  it('a message nacked with requeue into a full queue goes back and the head is dropped', async () => {
    const q = await queue({ 'x-max-length': 2 });
    await publish(q, ['m0', 'm1']);
    const ch = await channel();
    const m0 = await get(ch, q);
    await publish(q, ['m2']); // ready: m1 m2 (full)
    ch.nack(m0, false, true);
    await ch.checkQueue(q);
    // m0 goes back to its place at the head and the queue drops from the head down to the limit
    expect((await counts(q)).messageCount).toBe(2);
    expect(await drain(q)).toEqual(['m1', 'm2']);
  });
});

describe('x-max-length-bytes (drop-head)', () => {
  it('keeps the newest messages whose bodies fit', async () => {
    const q = await queue({ 'x-max-length-bytes': 10 });
    await publish(q, ['aaaa', 'bbbb', 'cccc', 'dd']);
    // 4+4+2 = 10 fits; adding 'aaaa' would make 14
    expect((await counts(q)).messageCount).toBe(3);
    expect(await drain(q)).toEqual(['bbbb', 'cccc', 'dd']);
  });

  it('counts body bytes only, not headers or properties', async () => {
    const q = await queue({ 'x-max-length-bytes': 4 });
    await publish(q, ['abcd'], { headers: { big: 'x'.repeat(200) }, messageId: 'id-'.repeat(20) });
    expect((await counts(q)).messageCount).toBe(1);
    await publish(q, ['e']);
    expect(await drain(q)).toEqual(['e']);
  });

  it('a single message larger than the limit is not kept', async () => {
    const q = await queue({ 'x-max-length-bytes': 3 });
    await publish(q, ['ab', 'toolong']);
    expect((await counts(q)).messageCount).toBe(0);
    await publish(q, ['xyz']);
    expect(await drain(q)).toEqual(['xyz']);
  });

  it('together with x-max-length, whichever is hit first', async () => {
    const q = await queue({ 'x-max-length': 2, 'x-max-length-bytes': 100 });
    await publish(q, ['a', 'b', 'c']);
    expect(await drain(q)).toEqual(['b', 'c']);
    const q2 = await queue({ 'x-max-length': 10, 'x-max-length-bytes': 3 });
    await publish(q2, ['a', 'b', 'c', 'd']);
    expect(await drain(q2)).toEqual(['b', 'c', 'd']);
  });
});

describe('x-overflow reject-publish', () => {
  it('drops extra publishes silently without confirms, keeping the oldest', async () => {
    const q = await queue({ 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    await publish(q, ['m0', 'm1', 'm2', 'm3']);
    expect((await counts(q)).messageCount).toBe(2);
    expect(await drain(q)).toEqual(['m0', 'm1']);
  });

  it('nacks the rejected publishes under confirms and acks the rest', async () => {
    const q = await queue({ 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    const ch = await suite.session.confirmChannel();
    // basic.ack / basic.nack frames may cover several tags (multiple=true): expand them
    const settled = new Map<number, 'ack' | 'nack'>();
    const record = (kind: 'ack' | 'nack') => (f: { deliveryTag: number; multiple: boolean }) => {
      const from = f.multiple ? 1 : f.deliveryTag;
      for (let t = from; t <= f.deliveryTag; t++) if (!settled.has(t)) settled.set(t, kind);
    };
    ch.on('ack', record('ack'));
    ch.on('nack', record('nack'));
    expect(await confirmOutcomes(ch, q, ['m0', 'm1', 'm2', 'm3'])).toEqual(['ack', 'ack', 'nack', 'nack']);
    expect([1, 2, 3, 4].map((t) => settled.get(t))).toEqual(['ack', 'ack', 'nack', 'nack']);
    expect(await drain(q)).toEqual(['m0', 'm1']);
  });

  it('waitForConfirms rejects when a publish was nacked', async () => {
    const q = await queue({ 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const ch = await suite.session.confirmChannel();
    ch.sendToQueue(q, Buffer.from('m0'));
    ch.sendToQueue(q, Buffer.from('m1'));
    await expect(ch.waitForConfirms()).rejects.toThrow('message nacked');
    // the channel stays open
    await ch.checkQueue(q);
  });

  it('accepts publishes again once a message is consumed', async () => {
    const q = await queue({ 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const ch = await suite.session.confirmChannel();
    expect(await confirmOutcomes(ch, q, ['m0', 'm1'])).toEqual(['ack', 'nack']);
    const getter = await channel();
    const m0 = await get(getter, q);
    expect(body(m0)).toBe('m0');
    // m0 is unacked: it no longer counts toward the limit
    expect(await confirmOutcomes(ch, q, ['m2', 'm3'])).toEqual(['ack', 'nack']);
    getter.ack(m0);
    expect(await drain(q)).toEqual(['m2']);
  });

  it('x-max-length 0 with reject-publish nacks every publish with no consumer', async () => {
    const q = await queue({ 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const ch = await suite.session.confirmChannel();
    expect(await confirmOutcomes(ch, q, ['a', 'b'])).toEqual(['nack', 'nack']);
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('x-max-length-bytes with reject-publish rejects what does not fit', async () => {
    const q = await queue({ 'x-max-length-bytes': 5, 'x-overflow': 'reject-publish' });
    const ch = await suite.session.confirmChannel();
    expect(await confirmOutcomes(ch, q, ['aaa', 'bbb', 'cc', 'd'])).toEqual(['ack', 'nack', 'ack', 'nack']);
    expect(await drain(q)).toEqual(['aaa', 'cc']);
  });

  it('a message nacked with requeue goes back even into a full queue (over the limit)', async () => {
    const q = await queue({ 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    await publish(q, ['m0', 'm1']);
    const ch = await channel();
    const m0 = await get(ch, q);
    await publish(q, ['m2']); // ready: m1 m2 (full)
    ch.nack(m0, false, true);
    await ch.checkQueue(q);
    expect((await counts(q)).messageCount).toBe(3);
    const again = await get(ch, q, true);
    expect({ body: body(again), redelivered: again.fields.redelivered }).toEqual({ body: 'm0', redelivered: true });
    expect(await drain(q)).toEqual(['m1', 'm2']);
  });

  it('a publish to several queues is nacked if any of them rejects it', async () => {
    const full = await queue({ 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const open = await queue();
    const x = unique('warren-limits-x');
    suite.session.exchanges.push(x);
    const a = await admin();
    await a.assertExchange(x, 'fanout', { durable: false, autoDelete: false });
    await a.bindQueue(full, x, '');
    await a.bindQueue(open, x, '');
    const ch = await suite.session.confirmChannel();
    const outcome = await within(
      new Promise<string>((resolve) => ch.publish(x, '', Buffer.from('both'), {}, (err) => resolve(err ? 'nack' : 'ack'))),
      () => 'no confirm',
    );
    expect(outcome).toBe('nack');
    // the other queue still got it
    expect(await drain(open)).toEqual(['both']);
  });
});
