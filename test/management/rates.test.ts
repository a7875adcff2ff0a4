// Rates as RabbitMQ's API reports them: the change per second over the last 5 s sample, sampled on the
// broker's clock, so a manual clock drives them without sleeps. Counts stay exact between samples.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type ManualClock, type RunningBroker } from '../../src/index.js';
import { api, type Api } from '../support/management.js';

let broker: RunningBroker;
let guest: Api;
let clock: ManualClock;

beforeAll(async () => {
  broker = await startBroker({ clock: 'manual', management: true });
  clock = broker.clock as ManualClock;
  guest = api(broker.managementUrl!.replace(/\/\/[^@]*@/, '//'), 'guest', 'guest');
  await guest.put('/api/queues/%2F/rated', {});
});
afterAll(() => broker.close());

const publish = async (n: number) => {
  for (let i = 0; i < n; i++) await guest.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'rated', properties: {}, payload: 'x', payload_encoding: 'string' });
};
type QueueView = { messages: number; messages_details: { rate: number }; message_stats?: { publish: number; publish_details: { rate: number } }; idle_since?: string };
const queue = async () => (await guest.get('/api/queues/%2F/rated')).body as QueueView;

describe('rates', () => {
  it('are the change per second over the last 5 s sample, while counts are exact at once', async () => {
    clock.advance(5000); // the first sample: nothing to compare with yet
    await publish(10);
    expect((await queue()).messages).toBe(10);
    expect((await queue()).message_stats).toMatchObject({ publish: 10, publish_details: { rate: 0 } });
    clock.advance(5000);
    expect(await queue()).toMatchObject({ messages_details: { rate: 2 }, message_stats: { publish: 10, publish_details: { rate: 2 } } });
    await publish(20);
    clock.advance(5000);
    expect(await queue()).toMatchObject({ messages: 30, messages_details: { rate: 4 }, message_stats: { publish: 30, publish_details: { rate: 4 } } });
  });

  it('fall to 0 and idle_since appears once a whole sample passes without activity', async () => {
    expect((await queue()).idle_since).toBeUndefined();
    const quietFrom = clock.now();
    clock.advance(5000);
    const q = await queue();
    expect(q.message_stats?.publish_details.rate).toBe(0);
    expect(q.idle_since).toBe(new Date(quietFrom).toISOString().replace('Z', '+00:00'));
  });
});
