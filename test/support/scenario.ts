// Small helpers the amqplib scenario suites share: waiting, consuming, reading messages, and amqplib's
// rendering of RabbitMQ's errors.
import type amqp from 'amqplib';
import type { Channel, ConsumeMessage, GetMessage, Message } from 'amqplib';

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
