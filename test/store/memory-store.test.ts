import { MemoryStore } from '../../src/store/memory-store.js';
import { storeSuite } from './store-suite.js';

storeSuite('memory store', {
  create: () => new MemoryStore(),
  reopen: (store) => (store.close(), store),
});
