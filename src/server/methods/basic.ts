// The basic class: qos, consume, cancel, publish, get, ack, nack, reject and recover. Deliveries,
// returns and get-oks are written by the channel (see channel.ts).
import type { Settlement } from '../../broker/queue.js';
import {
  BASIC_CANCEL,
  BASIC_CANCEL_OK,
  BASIC_CONSUME,
  BASIC_CONSUME_OK,
  BASIC_GET,
  BASIC_GET_EMPTY,
  BASIC_GET_OK,
  BASIC_NACK,
  BASIC_QOS,
  BASIC_QOS_OK,
  BASIC_RECOVER,
  BASIC_RECOVER_ASYNC,
  BASIC_RECOVER_OK,
  BASIC_REJECT,
  type BasicPublish,
  type Method,
} from '../../protocol/generated/spec.js';
import type { AmqpChannel } from '../channel-context.js';

export function basicMethod(ch: AmqpChannel, method: Method): void {
  const session = ch.session;
  switch (method.id) {
    case BASIC_QOS:
      session.qos(method.args.prefetchSize, method.args.prefetchCount, method.args.global);
      ch.reply(BASIC_QOS_OK, {});
      return;
    case BASIC_CONSUME: {
      const a = method.args;
      const tag = session.consume(a.queue, a.consumerTag, a.noAck, a.exclusive, a.arguments);
      // consume-ok goes out before the first delivery
      if (!a.nowait) ch.reply(BASIC_CONSUME_OK, { consumerTag: tag });
      session.startConsuming(tag);
      return;
    }
    case BASIC_CANCEL:
      session.cancel(method.args.consumerTag);
      if (!method.args.nowait) ch.reply(BASIC_CANCEL_OK, { consumerTag: method.args.consumerTag });
      return;
    case BASIC_GET: {
      const got = session.get(method.args.queue, method.args.noAck);
      if (!got) return ch.reply(BASIC_GET_EMPTY, { clusterId: '' });
      const m = got.message;
      ch.sendContent(BASIC_GET_OK, { deliveryTag: got.deliveryTag, redelivered: got.redelivered, exchange: m.exchange, routingKey: m.routingKey, messageCount: got.messageCount }, m);
      return;
    }
    case BASIC_NACK:
      return settle(ch, method.args.deliveryTag, method.args.multiple, method.args.requeue ? 'requeue' : 'dead-letter');
    case BASIC_REJECT:
      return settle(ch, method.args.deliveryTag, false, method.args.requeue ? 'requeue' : 'dead-letter');
    case BASIC_RECOVER:
    case BASIC_RECOVER_ASYNC:
      session.recover(method.args.requeue);
      if (method.id === BASIC_RECOVER) ch.reply(BASIC_RECOVER_OK, {});
      return;
  }
}

/** basic.ack (decoded by the fast path), nack and reject; a transaction applies them at commit. */
export function settle(ch: AmqpChannel, tag: number, multiple: boolean, how: Settlement): void {
  if (ch.mode?.holdSettle(tag, multiple, how)) return;
  ch.session.settle(tag, multiple, how);
}

/** A whole basic.publish (method, header and body): checked, then routed now or at commit. */
export function publish(ch: AmqpChannel, args: BasicPublish, header: Buffer, body: Buffer): void {
  const { session, mode } = ch;
  const ttl = session.checkPublish(args.exchange, args.routingKey, args.immediate, header);
  if (mode?.hold(args.exchange, args.routingKey, args.mandatory, header, body, ttl)) return;
  const outcome = ch.outcome;
  session.publish(args.exchange, args.routingKey, args.mandatory, header, body, ttl, outcome);
  if (outcome.unroutable && args.mandatory) ch.returnUnroutable(outcome);
  for (const q of outcome.overloaded) ch.connection.waitFor(q);
  mode?.published(outcome);
}
