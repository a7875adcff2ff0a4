// Queue and consumer argument validation, following RabbitMQ 3.10's check_declare_arguments and
// check_consume_arguments: value checks in RabbitMQ's order, then arguments that only another queue
// type takes, then the replicated types' declaration rules.
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import { scenarioSuite } from '../support/session.js';
import { expectChannelError, expectConnectionError } from '../support/scenario.js';

const suite = scenarioSuite();

function queueName(): string {
  const q = `warren-args-${randomBytes(5).toString('hex')}`;
  suite.session.queues.push(q);
  return q;
}

const inVhost = (q: string) => `queue '${q}' in vhost '/'`;

async function expectDeclareError(options: { durable?: boolean; exclusive?: boolean; autoDelete?: boolean }, args: Record<string, unknown>, reason: (q: string) => string) {
  const { conn, ch } = await suite.session.open();
  const q = queueName();
  await expectChannelError(conn, ch, () => ch.assertQueue(q, { durable: false, ...options, arguments: args }), 406, `PRECONDITION_FAILED - ${reason(q)}`, 50, 10);
}

describe('queue argument values', () => {
  it.each([
    ['x-max-priority', 256, '{max_value_exceeded,256}'],
    ['x-queue-mode', 'fast', `"unsupported queue mode 'fast'"`],
    ['x-queue-version', 3, `"unsupported queue version '3'"`],
    ['x-message-ttl', 315360000001, '{value_too_large,315360000001}'],
    ['x-expires', 315360000001, '{value_too_large,315360000001}'],
    ['x-expires', 0, '{value_zero,0}'],
    ['x-overflow', 'drop-tail', 'invalid_overflow'],
    ['x-single-active-consumer', 1, '{unacceptable_type,byte}'],
  ])('refuses %s = %s', async (key, value, reason) => {
    await expectDeclareError({}, { [key]: value }, (q) => `invalid arg '${key}' for ${inVhost(q)}: ${reason}`);
  });

  it('closes the connection with a bare 541 for a new classic queue with an x-queue-master-locator it has no strategy for', async () => {
    for (const locator of ['bogus', 5]) {
      const { conn, ch } = await suite.session.open();
      await expectConnectionError(conn, () => ch.assertQueue(queueName(), { durable: false, arguments: { 'x-queue-master-locator': locator } }), 541, 'INTERNAL_ERROR');
    }
    // RabbitMQ's three strategies place the queue; an exclusive queue is not placed at all
    const ch = await suite.session.channel();
    for (const locator of ['client-local', 'min-masters', 'random']) await ch.assertQueue(queueName(), { durable: false, arguments: { 'x-queue-master-locator': locator } });
    await ch.assertQueue(queueName(), { exclusive: true, arguments: { 'x-queue-master-locator': 'bogus' } });
    // nor is one declared again, where the argument is only compared
    const { conn, ch: again } = await suite.session.open();
    const q = queueName();
    await again.assertQueue(q, { durable: false });
    await expectChannelError(conn, again, () => again.assertQueue(q, { durable: false, arguments: { 'x-queue-master-locator': 'bogus' } }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'x-queue-master-locator' for ${inVhost(q)}: received the value 'bogus' of type 'longstr' but current is none`, 50, 10);
  });

  it('checks the type of the dead-letter exchange first, with its own text', async () => {
    await expectDeclareError({}, { 'x-max-length': -1, 'x-dead-letter-exchange': 1 }, (q) => `invalid type 'byte' for arg 'x-dead-letter-exchange' in ${inVhost(q)}`);
  });

  it('treats an exclusive queue as non-durable whatever the declaration says', async () => {
    const ch = await suite.session.channel();
    const q = queueName();
    await ch.assertQueue(q, { exclusive: true, durable: true });
    await ch.assertQueue(q, { exclusive: true, durable: false });
    await ch.assertQueue(q, { exclusive: true, durable: true });
  });

  it('refuses a dead-letter routing key without a dead-letter exchange', async () => {
    await expectDeclareError({}, { 'x-dead-letter-routing-key': 'k' }, (q) => `invalid arg 'x-dead-letter-routing-key' for ${inVhost(q)}: routing_key_but_no_dlx_defined`);
  });

  it('checks values in its own order, not the order the client sent them in', async () => {
    await expectDeclareError({}, { 'x-max-length': -1, 'x-expires': 0 }, (q) => `invalid arg 'x-expires' for ${inVhost(q)}: {value_zero,0}`);
  });

  it('checks values before arguments of other queue types', async () => {
    await expectDeclareError({}, { 'x-delivery-limit': 5, 'x-max-length': -1 }, (q) => `invalid arg 'x-max-length' for ${inVhost(q)}: {value_negative,-1}`);
  });
});

describe('long reply texts', () => {
  it('cuts a reply text over 255 bytes to 252 and "..."', async () => {
    const { conn, ch } = await suite.session.open();
    const q = `warren-args-${'long'.repeat(50)}-${randomBytes(4).toString('hex')}`;
    suite.session.queues.push(q);
    await ch.assertQueue(q, { durable: false });
    const full = `PRECONDITION_FAILED - inequivalent arg 'durable' for ${inVhost(q)}: received 'true' but current is 'false'`;
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { durable: true }), 406, `${full.slice(0, 252)}...`, 50, 10);
  });
});

describe('arguments of another queue type', () => {
  it.each(['x-delivery-limit', 'x-max-age', 'x-quorum-initial-group-size', 'x-max-in-memory-length', 'x-stream-max-segment-size-bytes'])(
    'refuses %s on a classic queue',
    async (key) => {
      const value = key === 'x-max-age' ? '1h' : 1;
      await expectDeclareError({}, { [key]: value }, (q) => `invalid arg '${key}' for ${inVhost(q)} of queue type rabbit_classic_queue`);
    },
  );

  it('names the first such argument in the order the client sent them', async () => {
    await expectDeclareError({}, { 'x-max-age': '1h', 'x-delivery-limit': 1 }, (q) => `invalid arg 'x-max-age' for ${inVhost(q)} of queue type rabbit_classic_queue`);
  });

  it.each(['x-max-priority', 'x-queue-mode', 'x-max-age'])('refuses %s on a quorum queue', async (key) => {
    const value = key === 'x-max-priority' ? 5 : key === 'x-queue-mode' ? 'lazy' : '1h';
    await expectDeclareError({ durable: true }, { 'x-queue-type': 'quorum', [key]: value }, (q) => `invalid arg '${key}' for ${inVhost(q)} of queue type rabbit_quorum_queue`);
  });

  it('checks a quorum queue argument before its declaration properties, then auto-delete, exclusive, durable', async () => {
    await expectDeclareError({ durable: false, exclusive: true }, { 'x-queue-type': 'quorum', 'x-max-priority': 5 }, (q) => `invalid arg 'x-max-priority' for ${inVhost(q)} of queue type rabbit_quorum_queue`);
    await expectDeclareError({ durable: false, exclusive: true, autoDelete: true }, { 'x-queue-type': 'quorum' }, (q) => `invalid property 'auto-delete' for ${inVhost(q)}`);
    await expectDeclareError({ durable: false, exclusive: true }, { 'x-queue-type': 'quorum' }, (q) => `invalid property 'exclusive-owner' for ${inVhost(q)}`);
  });
});

describe('declaring a queue again', () => {
  const QUORUM = { durable: true, arguments: { 'x-queue-type': 'quorum' } };
  const STREAM = { durable: true, arguments: { 'x-queue-type': 'stream' } };
  const now = (q: string, key: string, value: string, type: string) =>
    `PRECONDITION_FAILED - inequivalent arg '${key}' for ${inVhost(q)}: received the value '${value}' of type '${type}' but current is none`;

  it.each([
    ['classic', { durable: false, arguments: {} }, 'x-queue-version', 2, 'byte'],
    ['classic', { durable: false, arguments: {} }, 'x-queue-master-locator', 'random', 'longstr'],
    ['quorum', QUORUM, 'x-dead-letter-strategy', 'at-least-once', 'longstr'],
    ['quorum', QUORUM, 'x-max-in-memory-length', 5, 'byte'],
    ['stream', STREAM, 'x-max-age', '1h', 'longstr'],
  ])('compares the arguments a %s queue takes: %s', async (_type, options, key, value, fieldType) => {
    const { conn, ch } = await suite.session.open();
    const q = queueName();
    await ch.assertQueue(q, options);
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { ...options, arguments: { ...options.arguments, [key]: value } }), 406, now(q, key, String(value), fieldType), 50, 10);
  });

  it.each([
    ['classic', { durable: false, arguments: {} }, 'x-delivery-limit', 5],
    ['classic', { durable: false, arguments: {} }, 'x-queue-leader-locator', 'balanced'],
    ['quorum', QUORUM, 'x-max-priority', 5],
    ['quorum', QUORUM, 'x-queue-mode', 'lazy'],
    ['stream', STREAM, 'x-max-length', 5],
    ['stream', STREAM, 'x-message-ttl', 5],
  ])('ignores arguments a %s queue does not take: %s', async (_type, options, key, value) => {
    const ch = await suite.session.channel();
    const q = queueName();
    await ch.assertQueue(q, options);
    await ch.assertQueue(q, { ...options, arguments: { ...options.arguments, [key]: value } });
  });
});

describe('consumer arguments', () => {
  it('refuses an x-priority that is not an integer', async () => {
    const { conn, ch } = await suite.session.open();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await expectChannelError(conn, ch, () => ch.consume(queue, () => {}, { arguments: { 'x-priority': 'high' } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-priority' for ${inVhost(queue)}: "expected integer, got longstr"`, 60, 20);
  });

  it('refuses x-cancel-on-ha-failover that is not a boolean on a classic queue', async () => {
    const { conn, ch } = await suite.session.open();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await expectChannelError(conn, ch, () => ch.consume(queue, () => {}, { arguments: { 'x-cancel-on-ha-failover': 1 } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-cancel-on-ha-failover' for ${inVhost(queue)}: {unacceptable_type,byte}`, 60, 20);
  });

  it('refuses x-stream-offset and x-cancel-on-ha-failover on a quorum queue', async () => {
    const { conn, ch } = await suite.session.open();
    const q = queueName();
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await expectChannelError(conn, ch, () => ch.consume(q, () => {}, { arguments: { 'x-stream-offset': 'first' } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-stream-offset' for ${inVhost(q)} of queue type rabbit_quorum_queue`, 60, 20);
    const ch2 = await suite.session.channel(conn);
    await expectChannelError(conn, ch2, () => ch2.consume(q, () => {}, { arguments: { 'x-cancel-on-ha-failover': true } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-cancel-on-ha-failover' for ${inVhost(q)} of queue type rabbit_quorum_queue`, 60, 20);
  });
});
