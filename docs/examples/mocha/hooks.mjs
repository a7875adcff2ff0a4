// mocha root hooks (`mocha --require hooks.mjs`): one broker for the run, reset before each test.
import { startBroker } from 'warren';

export let broker;

export const mochaHooks = {
  async beforeAll() {
    broker = await startBroker();
  },
  beforeEach() {
    broker.reset();
  },
  async afterAll() {
    await broker.close();
  },
};
