// Small helpers the amqplib scenario suites share: waiting, consuming, reading messages, and amqplib's
// rendering of RabbitMQ's errors.
import type amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage, GetMessage, Message } from 'amqplib';
import { expect } from 'vitest';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(5);
  }
}

/** A consumer that records its deliveries. */
export async function consumer(ch: Channel, q: string, options: amqp.Options.Consume = {}) {
  const messages: ConsumeMessage[] = [];
  const { consumerTag } = await ch.consume(
    q,
    (m) => {
      if (m) messages.push(m);
    },
    options,
  );
  return { consumerTag, messages, bodies: () => messages.map((m) => m.content.toString()) };
}

/** basic.get that fails the test on get-empty. */
export async function get(ch: Channel, q: string, noAck = false): Promise<GetMessage> {
  const m = await ch.get(q, { noAck });
  if (m === false) throw new Error(`basic.get-empty from ${q}`);
  return m;
}

export const body = (m: Message | false) => (m === false ? false : m.content.toString());

export type AmqpError = Error & { code?: number; classId?: number; methodId?: number };

/** amqplib's rendering of a reply code: 406 -> PRECONDITION-FAILED, taken from RabbitMQ's text. */
export const codeName = (text: string) => text.split(' - ')[0].replace(/_/g, '-');

/** Rejects with a useful message when `promise` does not settle in time. */
export async function within<T>(promise: Promise<T>, what: () => string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `trigger`; `outcome` resolves to what it rejected with (undefined if it succeeded). */
export function run(trigger: () => unknown): { outcome: Promise<unknown>; result: () => string } {
  let result = 'the operation has had no reply';
  const outcome = Promise.resolve()
    .then(trigger)
    .then(
      (value) => {
        result = `the operation succeeded with ${JSON.stringify(value)}`;
        return undefined;
      },
      (e: unknown) => {
        result = `the operation failed: ${(e as Error).message}`;
        return e;
      },
    );
  return { outcome, result: () => result };
}

/**
 * Runs `trigger` and expects RabbitMQ to close the channel (only) with exactly this code, text and
 * class/method; then checks the connection still works. Returns what the trigger rejected with.
 */
export async function expectChannelError(
  conn: ChannelModel,
  ch: Channel,
  trigger: () => unknown,
  code: number,
  text: string,
  classId: number,
  methodId: number,
): Promise<unknown> {
  const error = new Promise<AmqpError>((resolve) => ch.once('error', resolve));
  const closed = new Promise<void>((resolve) => ch.once('close', () => resolve()));
  let connectionClosed = false;
  conn.once('close', () => (connectionClosed = true));
  const { outcome, result } = run(trigger);
  const err = await within(error, () => `the broker did not close the channel; ${result()}`);
  expect({ message: err.message, code: err.code, classId: err.classId, methodId: err.methodId }).toEqual({
    message: `Channel closed by server: ${code} (${codeName(text)}) with message "${text}"`,
    code,
    classId,
    methodId,
  });
  await closed;
  const rejected = await outcome;
  if (rejected !== undefined) expect((rejected as Error).message).toContain(`${code} (${codeName(text)}) with message "${text}"`);
  // the connection stays open
  const other = await conn.createChannel();
  await other.close();
  expect(connectionClosed).toBe(false);
  return rejected;
}

/** Runs `trigger` and expects RabbitMQ to close the whole connection with exactly this code and text. */
export async function expectConnectionError(conn: ChannelModel, trigger: () => unknown, code: number, text: string) {
  const error = new Promise<AmqpError>((resolve) => conn.once('error', resolve));
  const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
  const { outcome, result } = run(trigger);
  const err = await within(error, () => `the broker did not close the connection; ${result()}`);
  expect({ message: err.message, code: err.code }).toEqual({
    message: `Connection closed: ${code} (${codeName(text)}) with message "${text}"`,
    code,
  });
  await closed;
  expect(await outcome).toBeInstanceOf(Error);
  await expect(conn.createChannel()).rejects.toThrow();
}
