// Publisher confirms come coalesced: RabbitMQ acknowledges runs of publishes with multiple=true
// (amqplib's own test suite insists on seeing one).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec.js';
import { encodeMethodFrame, writeBody, writeContentHeader } from '../../src/protocol/frames.js';
import { BASIC_ACK, BASIC_PUBLISH, CONFIRM_SELECT, CONFIRM_SELECT_OK, QUEUE_DECLARE, QUEUE_DECLARE_OK } from '../../src/protocol/generated/spec.js';
import { testBroker, type TestBroker } from '../support/broker.js';
import { RawClient } from '../support/raw-client.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await testBroker();
});
afterAll(() => broker.close());

it('confirms a burst of publishes to a queue with acks covering every tag once, some with multiple=true', async () => {
  const c = await RawClient.open(broker.port, broker.host, {}, [1]);
  c.method(1, QUEUE_DECLARE, { exclusive: true });
  const { queue } = await c.expectMethod(QUEUE_DECLARE_OK, 1);
  c.method(1, CONFIRM_SELECT, {});
  await c.expectMethod(CONFIRM_SELECT_OK, 1);
  const n = 500;
  const w = new Writer();
  for (let i = 0; i < n; i++) {
    w.bytes(encodeMethodFrame(1, BASIC_PUBLISH, { routingKey: queue }));
    writeContentHeader(w, 1, 3, {});
    writeBody(w, 1, Buffer.from('abc'), 131072);
  }
  c.write(Buffer.concat(w.drain()));
  const acks = () => c.frames.filter((f) => f.method?.id === BASIC_ACK).map((f) => f.method!.args as { deliveryTag: number; multiple: boolean });
  await c.until(() => acks().at(-1)?.deliveryTag === n, 10000);
  let covered = 0;
  for (const a of acks()) {
    expect(a.deliveryTag).toBeGreaterThan(covered);
    if (!a.multiple) expect(a.deliveryTag).toBe(covered + 1);
    covered = a.deliveryTag;
  }
  expect(covered).toBe(n);
  expect(acks().some((a) => a.multiple)).toBe(true);
  c.destroy();
});
