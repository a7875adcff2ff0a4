#!/usr/bin/env node
// `npm run bench:micro`: the codec and the routers in isolation, in operations per second, so a regression
// shows without the noise of sockets and clients. Runs against dist/ (build first).
import { Writer } from '../dist/protocol/codec.js';
import { decodeAck, decodePublish, writeDeliver } from '../dist/protocol/fast-path.js';
import { FrameParser, encodeMethodFrame, writeBody, writeContentHeader } from '../dist/protocol/frames.js';
import { BASIC_ACK, BASIC_PUBLISH } from '../dist/protocol/generated/spec.js';
import { TopicTrie } from '../dist/broker/topic-trie.js';
import { headersMatch } from '../dist/broker/exchange.js';
import { toFieldTable } from '../dist/protocol/field-table.js';

function measure(name, fn, ms = 500) {
  for (let i = 0; i < 1000; i++) fn(); // warm up
  let ops = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) fn();
    ops += 1000;
  }
  console.log(`${name.padEnd(44)} ${Math.round((ops / ms) * 1000).toLocaleString('en-US').padStart(14)} ops/s`);
}

const publish = encodeMethodFrame(1, BASIC_PUBLISH, { exchange: 'amq.topic', routingKey: 'stock.nyse.ibm' }).subarray(7, -1);
const ack = encodeMethodFrame(1, BASIC_ACK, { deliveryTag: 123456, multiple: false }).subarray(7, -1);
measure('decodePublish', () => decodePublish(publish));
measure('decodeAck', () => decodeAck(ack));
let w = new Writer();
measure('writeDeliver', () => {
  writeDeliver(w, 1, 'amq.ctag-abcdefghijklmnopqrstuv', 42, false, 'amq.topic', 'stock.nyse.ibm');
  if (w.pos > 1 << 20) w = new Writer();
});

// a 64 KB chunk of publish + header + 64 B body frames
const chunkWriter = new Writer();
while (chunkWriter.pos < 65536 - 200) {
  chunkWriter.bytes(encodeMethodFrame(1, BASIC_PUBLISH, { routingKey: 'q' }));
  writeContentHeader(chunkWriter, 1, 64, {});
  writeBody(chunkWriter, 1, Buffer.alloc(64), 131072);
}
const chunk = Buffer.concat(chunkWriter.drain());
let frames = 0;
const parser = new FrameParser({ onFrame: () => frames++ }, 131072);
measure('FrameParser.push (64 KB chunk)', () => parser.push(chunk), 500);
console.log(`${''.padEnd(44)} (${Math.round(frames / 3 / 1e3)}k messages parsed)`);

const trie = new TopicTrie();
for (let i = 0; i < 1000; i++) trie.add(`stock.${i % 50}.${i}`, i);
trie.add('stock.#', 'all');
trie.add('*.*.ibm', 'ibm');
const out = new Set();
measure('TopicTrie.match (1002 bindings)', () => {
  out.clear();
  trie.match('stock.7.407', out);
});

const binding = toFieldTable({ 'x-match': 'all', format: 'pdf', type: 'report' });
const headers = toFieldTable({ format: 'pdf', type: 'report', size: 1024 });
measure('headersMatch (x-match all, 2 keys)', () => headersMatch(binding, headers));
