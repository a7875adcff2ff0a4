// vitest global set-up: one broker for the whole run, its URL handed to the tests.
// vitest.config: { test: { globalSetup: ['./vitest.setup.mjs'] } }
import { startBroker } from 'warren';

export default async function setup({ provide }) {
  const broker = await startBroker({ management: true });
  provide('amqpUrl', broker.url);
  provide('managementUrl', broker.managementUrl);
  return () => broker.close();
}
